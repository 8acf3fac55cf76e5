import type { EncodedRecord, RecordProducer } from '../kafka/index.ts';
import type { StageMetrics } from '../metrics/index.ts';
import { buildFailureHeaders, mergeFailureHeaders } from './headers.ts';
import type { ChunkResult } from './process.ts';

export interface OutboxTopics {
  stage: string;
  retry: { logical: string };
  deadLetter: { logical: string };
}

/**
 * Sends a chunk's outputs, retries and dead letters (or part of a streaming handler's outputs) in ONE produce
 * call (split only above `maxBytes`) and resolves only once every record is acknowledged by all in-sync
 * replicas; the caller commits offsets after that, never before.
 */
export async function sendChunkResult(
  producer: RecordProducer,
  result: ChunkResult,
  topics: OutboxTopics,
  metrics: StageMetrics,
  maxBytes: number,
  now: () => Date = () => new Date(),
): Promise<void> {
  const records: EncodedRecord[] = result.outputs.map((output) => ({
    topic: output.topic,
    key: output.key,
    value: output.value,
    ...(output.headers ? { headers: output.headers } : {}),
  }));
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
    records.push({
      topic: target.logical,
      key: failed.record.message.key,
      value: failed.record.message.value,
      headers: mergeFailureHeaders(failed.record.message.headers, headers),
    });
  }
  if (records.length === 0) return;

  const requests = await producer.sendEncoded(records, { maxBytes });
  metrics.produceRequests.inc({ stage: topics.stage }, requests);
  count(records, result, topics.stage, metrics);
}

function count(records: EncodedRecord[], result: ChunkResult, stage: string, metrics: StageMetrics): void {
  const outputs = new Map<string, number>();
  for (const { topic } of records) outputs.set(topic, (outputs.get(topic) ?? 0) + 1);
  for (const [topic, records] of outputs) metrics.recordsOut.inc({ stage, topic }, records);
  for (const failed of result.failed) {
    if (failed.destination === 'retry') metrics.retries.inc({ stage, kind: 'delayed' });
    else metrics.deadLetters.inc({ stage, code: failed.failure.code });
  }
}
