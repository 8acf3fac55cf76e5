import { CompressionTypes, type Message, type Producer } from 'kafkajs';
import { messageBytes, splitByBytes } from '../kafka/index.ts';
import type { StageMetrics } from '../metrics/index.ts';
import { buildFailureHeaders, mergeFailureHeaders } from './headers.ts';
import type { ChunkResult } from './process.ts';

export interface OutboxTopics {
  stage: string;
  /** Logical → Kafka name, for the stage's declared outputs. */
  kafkaName: (logical: string) => string;
  retry: { logical: string; kafka: string };
  deadLetter: { logical: string; kafka: string };
}

/**
 * Sends a chunk's outputs, retries and dead letters (or part of a streaming handler's outputs) in ONE produce call and resolves only once every record is
 * acknowledged by all in-sync replicas; the caller commits offsets after that, never before.
 */
export async function sendChunkResult(
  producer: Producer,
  result: ChunkResult,
  topics: OutboxTopics,
  metrics: StageMetrics,
  maxBytes: number,
  now: () => Date = () => new Date(),
): Promise<void> {
  const byTopic = new Map<string, { logical: string; messages: Message[] }>();
  const add = (logical: string, kafka: string, message: Message) => {
    let entry = byTopic.get(kafka);
    if (!entry) {
      entry = { logical, messages: [] };
      byTopic.set(kafka, entry);
    }
    entry.messages.push(message);
  };

  for (const output of result.outputs) {
    add(output.topic, topics.kafkaName(output.topic), {
      key: output.key,
      value: output.value,
      ...(output.headers ? { headers: output.headers } : {}),
    });
  }
  const failedAt = now();
  for (const failed of result.failed) {
    const target = failed.destination === 'retry' ? topics.retry : topics.deadLetter;
    const headers = buildFailureHeaders({
      stage: topics.stage,
      code: failed.failure.code,
      message: failed.failure.message,
      attempt: failed.attempt,
      source: failed.record.source,
      failedAt,
      ...(failed.retryAt === undefined ? {} : { retryAt: failed.retryAt }),
    });
    // The original key and bytes, untouched: a dead letter can be replayed exactly as it first arrived.
    add(target.logical, target.kafka, {
      key: failed.record.message.key,
      value: failed.record.message.value,
      headers: mergeFailureHeaders(failed.record.message.headers, headers),
    });
  }
  if (byTopic.size === 0) return;

  // Usually one call; split only when the chunk's bytes exceed what the broker takes in one partition batch.
  // Sequential, so a partition's records keep their order.
  let total = 0;
  for (const { messages } of byTopic.values()) for (const message of messages) total += messageBytes(message);
  if (total <= maxBytes) {
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, { messages }]) => ({ topic, messages })),
    });
    metrics.produceRequests.inc({ stage: topics.stage });
    count(byTopic, result, topics.stage, metrics);
    return;
  }
  const all = [...byTopic].flatMap(([topic, { messages }]) => messages.map((message) => ({ ...message, topic })));
  for (const group of splitByBytes(all, maxBytes)) {
    const topicMessages = new Map<string, Message[]>();
    for (const { topic, ...message } of group) {
      const list = topicMessages.get(topic);
      if (list) list.push(message);
      else topicMessages.set(topic, [message]);
    }
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...topicMessages].map(([topic, messages]) => ({ topic, messages })),
    });
    metrics.produceRequests.inc({ stage: topics.stage });
  }

  count(byTopic, result, topics.stage, metrics);
}

function count(
  byTopic: Map<string, { logical: string; messages: Message[] }>,
  result: ChunkResult,
  stage: string,
  metrics: StageMetrics,
): void {
  for (const { logical, messages } of byTopic.values()) {
    metrics.recordsOut.inc({ stage, topic: logical }, messages.length);
  }
  for (const failed of result.failed) {
    if (failed.destination === 'retry') metrics.retries.inc({ stage, kind: 'delayed' });
    else metrics.deadLetters.inc({ stage, code: failed.failure.code });
  }
}
