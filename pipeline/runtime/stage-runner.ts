import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { permanent } from '../errors/index.ts';
import {
  createTopicsIfMissing,
  groupLag,
  partitionCounts,
  type RecordProducer,
  retryTransient,
} from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { StageMetrics } from '../metrics/index.ts';
import { failureHeader, readPriorFailure, textHeaders } from './headers.ts';
import { deadLetterTopic, failureTopicLayout, groupIdFor, kafkaTopicName, retryTopic } from './names.ts';
import { sendChunkResult } from './outbox.ts';
import { resolvePolicy } from './policy.ts';
import {
  ChunkAbandonedError,
  type ChunkResult,
  type EncodedOutput,
  type FailedRecord,
  type PendingRecord,
  processChunk,
} from './process.ts';
import type { Codec, StageDefinition } from './types.ts';

export interface StageRunnerOptions {
  config: Config;
  stage: StageDefinition<unknown, unknown>;
  kafka: Kafka;
  producer: RecordProducer;
  admin: Admin;
  codec: Codec;
  metrics: StageMetrics;
  log: Logger;
  instance: string;
  signal: AbortSignal;
  onFatal: (error: Error) => void;
}

export interface RunningStage {
  name: string;
  groupId: string;
  stop(): Promise<void>;
}

/** Joins the stage's consumer group and processes batches until stopped. Resolves once the group is joined. */
export async function startStage(options: StageRunnerOptions): Promise<RunningStage> {
  const { config, stage, kafka, producer, admin, codec, metrics, log } = options;
  const mode = stage.consumerGroup ?? 'shared';
  const policy = resolvePolicy(config, stage.errors);
  // Every instance of a broadcast stage would replay a shared retry topic; it retries in-process only.
  if (mode === 'per-instance') policy.delayedAttempts = 0;
  const commits = mode === 'shared';
  const groupId = groupIdFor(config, stage.name, mode, options.instance);
  const name = (logical: string) => kafkaTopicName(config, logical);
  const retry = { logical: retryTopic(stage.name), kafka: name(retryTopic(stage.name)) };
  const deadLetter = { logical: deadLetterTopic(stage.name), kafka: name(deadLetterTopic(stage.name)) };
  const logicalByKafka = new Map(stage.input.map((logical) => [name(logical), logical]));
  const outputTopics = new Set(stage.output);
  const subscribed = [...logicalByKafka.keys(), ...(policy.delayedAttempts > 0 ? [retry.kafka] : [])];

  const declared = [...new Set([...logicalByKafka.keys(), ...stage.output.map(name)])];
  const counts = await partitionCounts(admin, declared);
  const missing = declared.filter((topic) => !counts.has(topic));
  if (missing.length > 0) {
    const hint = '`msgxc topics` creates the topology';
    throw permanent('TOPIC_MISSING', `stage ${stage.name}: missing topics ${missing.join(', ')} (${hint})`);
  }
  const partitions = Math.max(1, ...[...logicalByKafka.keys()].map((topic) => counts.get(topic) ?? 1));
  const created = await createTopicsIfMissing(admin, [
    ...(policy.delayedAttempts > 0 ? [{ topic: retry.kafka, ...failureTopicLayout(retry.logical, partitions) }] : []),
    { topic: deadLetter.kafka, ...failureTopicLayout(deadLetter.logical, partitions) },
  ]);
  if (created.length > 0) log.info({ topics: created }, 'created retry and dead-letter topics');

  const deps = stage.setup ? await stage.setup(config, log) : undefined;
  const context = { config, log, deps, signal: options.signal };
  const handler = (records: Parameters<typeof stage.handler>[0]) => stage.handler(records, context);
  const outbox = { stage: stage.name, kafkaName: name, retry, deadLetter };
  const labels = (topic: string) => (topic === retry.kafka ? retry.logical : (logicalByKafka.get(topic) ?? topic));

  const { consumer: tuning } = config.runtime;
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: tuning.sessionTimeoutMs,
    heartbeatInterval: tuning.heartbeatMs,
    maxBytesPerPartition: tuning.maxBytesPerPartition,
    maxBytes: tuning.maxBytes,
    maxWaitTimeInMs: tuning.maxWaitMs,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) options.onFatal(payload.error);
  });

  // Retry-topic partitions whose head is not due yet: paused, resumed by a timer at the head's retry time.
  const resumeTimers = new Map<number, NodeJS.Timeout>();
  const pauseUntilDue = (partition: number, retryAt: number, pause: () => () => void) => {
    const resume = pause();
    const timer = setTimeout(
      () => {
        resumeTimers.delete(partition);
        resume();
      },
      Math.max(10, retryAt - Date.now()),
    );
    resumeTimers.set(partition, timer);
  };

  const toPending = (message: KafkaMessage, topic: string, partition: number): PendingRecord | FailedRecord => {
    if (topic !== retry.kafka) {
      return {
        message,
        topic: logicalByKafka.get(topic) ?? topic,
        source: { topic, partition, offset: message.offset },
        priorAttempts: 0,
      };
    }
    const prior = readPriorFailure(message.headers);
    const logical = prior ? logicalByKafka.get(prior.source.topic) : undefined;
    const record = {
      message,
      topic: logical ?? retry.logical,
      source: prior?.source ?? { topic, partition, offset: message.offset },
      priorAttempts: prior?.attempt ?? 0,
    };
    if (prior && logical) return record;
    const failure = prior
      ? { code: 'RETRY_SOURCE_UNKNOWN', message: `no input topic ${prior.source.topic} on stage ${stage.name}` }
      : { code: 'RETRY_HEADERS_MISSING', message: 'a retry-topic record without the runtime headers' };
    return { record, failure: { ...failure, retriable: false }, destination: 'dlq', attempt: record.priorAttempts + 1 };
  };

  /** Decode, handle, isolate failures: everything but producing. */
  const runChunk = async (
    chunk: KafkaMessage[],
    topic: string,
    partition: number,
    wait: (ms: number) => Promise<void>,
    flush: (outputs: EncodedOutput[]) => Promise<void>,
  ): Promise<ChunkResult> => {
    const result: ChunkResult = { outputs: [], failed: [] };
    const pending: PendingRecord[] = [];
    for (const message of chunk) {
      const item = toPending(message, topic, partition);
      if ('failure' in item) result.failed.push(item);
      else pending.push(item);
    }
    const arrivals = new Map<string, number>();
    for (const item of pending) arrivals.set(item.topic, (arrivals.get(item.topic) ?? 0) + 1);
    for (const [logical, count] of arrivals) metrics.recordsIn.inc({ stage: stage.name, topic: logical }, count);
    const processed = await processChunk(pending, {
      policy,
      codec,
      outputTopics,
      maxOutputBytes: config.runtime.maxProduceBytes,
      handler,
      wait,
      flush,
      streamChunk: config.runtime.streamChunk,
      stopping: () => options.signal.aborted,
      onError: (error, phase) => metrics.errors.inc({ stage: stage.name, code: error.code, phase }),
      onRetry: (attempt, delayMs, error) => {
        metrics.retries.inc({ stage: stage.name, kind: 'backoff' });
        log.warn({ attempt, delayMs, code: error.code, err: error.message }, 'batch failed, backing off');
      },
    });
    result.outputs.push(...processed.outputs);
    result.failed.push(...processed.failed);
    for (const failed of result.failed) {
      const { destination: to, attempt, record } = failed;
      log.warn(
        { to, code: failed.failure.code, attempt, source: record.source },
        `record set aside: ${failed.failure.message}`,
      );
    }
    return result;
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload;
    const { topic, partition } = batch;
    const fromRetry = topic === retry.kafka;
    // A batch fetched just before this partition was paused: leave it for after the resume.
    if (fromRetry && resumeTimers.has(partition)) return;
    const wait = async (ms: number) => {
      const until = Date.now() + ms;
      for (let left = ms; left > 0; left = until - Date.now()) {
        // A back-off is cut short by the shutdown; the chunk is then abandoned (not committed).
        await sleep(Math.min(left, tuning.heartbeatMs), undefined, { signal: options.signal }).catch(() => {
          throw new ChunkAbandonedError();
        });
        await heartbeat();
      }
    };
    // A streaming handler's outputs leave part-way: acknowledged before the handler is asked for more. A stop
    // abandons the stream after the part in hand; what was produced is redone (same ids) by the next owner.
    const flush = async (outputs: EncodedOutput[]) => {
      await sendChunkResult(producer, { outputs, failed: [] }, outbox, metrics, config.runtime.maxProduceBytes);
      await heartbeat().catch((error: unknown) => log.debug({ err: error }, 'heartbeat during a stream failed'));
      if (options.signal.aborted) throw new ChunkAbandonedError();
    };
    let lastResolved: string | undefined;
    let lastCommitted: string | undefined;
    let lastCommitAt = Date.now();
    let failure: unknown;
    // Only ever offsets whose outputs are acknowledged. Inside a long batch at most every commitIntervalMs,
    // which bounds the rework after a crash; always at the batch's end (and so on shutdown).
    const commit = async (force: boolean) => {
      if (!commits || lastResolved === undefined || lastResolved === lastCommitted) return;
      if (!force && Date.now() - lastCommitAt < config.runtime.commitIntervalMs) return;
      const offset = String(BigInt(lastResolved) + 1n);
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
      lastCommitted = lastResolved;
      lastCommitAt = Date.now();
    };
    try {
      for (let start = 0; start < batch.messages.length; start += config.runtime.handlerBatch) {
        if (!isRunning() || isStale()) break;
        let chunk = batch.messages.slice(start, start + config.runtime.handlerBatch);
        let notDue: number | undefined;
        if (fromRetry) {
          const now = Date.now();
          const index = chunk.findIndex((message) => retryAtOf(message) > now);
          if (index >= 0) {
            notDue = retryAtOf(chunk[index]!);
            chunk = chunk.slice(0, index);
          }
        }
        const last = chunk[chunk.length - 1];
        if (last) {
          const stopTimer = metrics.batchDuration.startTimer({ stage: stage.name });
          // A slow handler must not cost the group membership; a rebalance this reveals ends the batch at
          // the next awaited heartbeat below.
          const keepAlive = setInterval(() => {
            heartbeat().catch((error: unknown) => log.debug({ err: error }, 'heartbeat during a chunk failed'));
          }, tuning.heartbeatMs);
          try {
            const result = await runChunk(chunk, topic, partition, wait, flush);
            await sendChunkResult(producer, result, outbox, metrics, config.runtime.maxProduceBytes);
          } finally {
            clearInterval(keepAlive);
          }
          resolveOffset(last.offset);
          lastResolved = last.offset;
          await commit(false);
          stopTimer();
          const lag = Number(batch.highWatermark) - Number(last.offset) - 1;
          metrics.lag.set({ stage: stage.name, topic: labels(topic), partition: String(partition) }, Math.max(0, lag));
        }
        if (notDue !== undefined) {
          pauseUntilDue(partition, notDue, pause);
          break;
        }
        await heartbeat();
      }
    } catch (error) {
      if (error instanceof ChunkAbandonedError) log.info({ topic, partition }, error.message);
      else failure = error;
    }
    // Also after a failure: what was produced and acknowledged is done.
    try {
      await commit(true);
    } catch (error) {
      if (failure === undefined) failure = error;
      else log.warn({ err: error, topic, partition }, 'commit after a failed batch failed too');
    }
    if (failure !== undefined) throw failure;
  };

  try {
    await consumer.connect();
    // Its retry topic may have been created a moment ago: the metadata can still answer "unknown topic".
    await retryTransient(() => consumer.subscribe({ topics: subscribed, fromBeginning: mode === 'shared' }));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently,
      eachBatch,
    });
  } catch (error) {
    await Promise.allSettled([consumer.disconnect(), deps?.close?.()]);
    throw error;
  }
  log.info({ groupId, input: stage.input, output: stage.output, mode }, 'stage running');

  // Batches only report lag while records flow; sampling the group's commits also shows a stalled consumer.
  const sampler = commits
    ? setInterval(() => {
        groupLag(admin, groupId, subscribed).then(
          (rows) => {
            for (const row of rows) {
              const labelSet = { stage: stage.name, topic: labels(row.topic), partition: String(row.partition) };
              metrics.lag.set(labelSet, row.lag);
            }
          },
          (error: unknown) => log.debug({ err: error }, 'lag sample failed'),
        );
      }, config.runtime.lagSampleMs)
    : undefined;
  sampler?.unref();

  return {
    name: stage.name,
    groupId,
    async stop() {
      clearInterval(sampler);
      await consumer.disconnect();
      for (const timer of resumeTimers.values()) clearTimeout(timer);
      resumeTimers.clear();
      await deps?.close?.();
    },
  };
}

function retryAtOf(message: KafkaMessage): number {
  const value = Number(textHeaders(message.headers)[failureHeader.retryAt]);
  return Number.isFinite(value) ? value : 0;
}
