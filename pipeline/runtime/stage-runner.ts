import type { Admin, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { RecordProducer } from '../kafka/index.ts';
import { groupLag } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { StageMetrics } from '../metrics/index.ts';
import { urgencyRankOf } from '../topics/lanes.ts';
import { ChunkAbandonedError, isRebalance, isShutdown } from './classify.ts';
import type { CommitQueue } from './commit-queue.ts';
import { FeedConsumer } from './feed-consumer.ts';
import { groupIdFor } from './names.ts';
import { sendChunkResult } from './outbox.ts';
import { dueRetries, PartitionBatch, RetryPauses } from './partition-batch.ts';
import { resolvePolicy } from './policy.ts';
import {
  type ChunkDependencies,
  type ChunkResult,
  type EncodedOutput,
  type PendingRecord,
  processChunk,
} from './process.ts';
import { StageTopics } from './stage-topics.ts';
import type { Codec, ErrorPolicy, StageDefinition } from './types.ts';
import { stageRank, type UrgencyGate } from './urgency-gate.ts';

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
  /** Shared by the stages of a process: lower lanes give way while a higher one has work. */
  gate: UrgencyGate;
  onFatal: (error: Error) => void;
}

export interface RunningStage {
  name: string;
  groupId: string;
  stop(): Promise<void>;
}

/** Joins the stage's consumer group and processes batches until stopped. Resolves once the group is joined. */
export async function startStage(options: StageRunnerOptions): Promise<RunningStage> {
  const runner = new StageRunner(options);
  await runner.start();
  return runner;
}

/**
 * One stage's consumer: `start` checks the topics, sets the stage up and joins the group; kafkajs calls
 * `eachBatch` per fetched partition batch, which cuts it into chunks (`handleChunk` → `runChunk` → produce →
 * resolve → commit); `stop` leaves the group. Error judgements live in classify.ts.
 */
export class StageRunner implements RunningStage {
  readonly name: string;
  readonly groupId: string;
  private readonly mode: 'shared' | 'per-instance';
  private readonly policy: ErrorPolicy;
  private readonly topics: StageTopics;
  private readonly pauses = new RetryPauses();
  private readonly feeds: FeedConsumer[] = [];
  private deps: { close?: () => Promise<void> | void } | undefined;
  private handler: ChunkDependencies['handler'] = async () => [];
  private sampler: NodeJS.Timeout | undefined;

  private readonly options: StageRunnerOptions;

  constructor(options: StageRunnerOptions) {
    this.options = options;
    const { config, stage } = options;
    this.name = stage.name;
    this.mode = stage.consumerGroup ?? 'shared';
    this.policy = resolvePolicy(config, stage.errors);
    // Every instance of a broadcast stage would replay a shared retry topic; it retries in-process only.
    if (this.mode === 'per-instance') this.policy.delayedAttempts = 0;
    this.groupId = groupIdFor(config, stage.name, this.mode, options.instance);
    this.topics = new StageTopics(config, stage, this.policy.delayedAttempts > 0);
  }

  /**
   * Per-instance groups commit too: their group id lives as long as the process, and a consumer that kafkajs
   * restarts (a broker restart, a coordinator move) rejoins it — it must resume where it stood, not at the
   * latest offset, or the records produced meanwhile never reach this instance's sockets.
   */
  private get commits(): boolean {
    return true;
  }

  async start(): Promise<void> {
    const { config, stage, log, signal } = this.options;
    await this.topics.ensure(this.options.admin, log);
    const deps = stage.setup ? await stage.setup(config, log) : undefined;
    this.deps = deps as typeof this.deps;
    const rank = stageRank(stage);
    const giveWay = () => this.options.gate.giveWay(rank).then(() => undefined);
    const context = { config, log, deps, signal, giveWay };
    this.handler = (records) => stage.handler(records, context);
    await this.join();
    log.info({ groupId: this.groupId, input: stage.input, output: stage.output, mode: this.mode }, 'stage running');
    this.startLagSampler();
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    await Promise.all(this.feeds.map((feed) => feed.stop()));
    this.pauses.clear();
    await this.deps?.close?.();
  }

  private async join(): Promise<void> {
    try {
      for (const feed of this.topics.feeds) await this.joinFeed(`${this.groupId}${feed.groupSuffix}`, feed.topics);
    } catch (error) {
      await Promise.allSettled([...this.feeds.map((feed) => feed.stop()), this.deps?.close?.()]);
      throw error;
    }
  }

  private async joinFeed(groupId: string, topics: string[]): Promise<void> {
    const { kafka, config, log, metrics, onFatal } = this.options;
    const feed = new FeedConsumer({
      kafka,
      groupId,
      topics,
      fromBeginning: this.mode === 'shared',
      tuning: config.runtime.consumer,
      commitIntervalMs: config.runtime.commitIntervalMs,
      eachBatch: (payload, commits) => this.eachBatch(payload, commits),
      log,
      onRejoin: () => metrics.rejoins.inc({ stage: this.name }),
      onAssign: (assignment) => this.assigned(assignment),
      onFatal,
    });
    this.feeds.push(feed);
    await feed.start();
  }

  /** Tells the stage which partitions of its logical inputs this member now holds (state kept per partition). */
  private assigned(assignment: Record<string, number[]>): void {
    const { stage, log } = this.options;
    if (!stage.assigned || this.deps === undefined) return;
    const logical: Record<string, number[]> = {};
    for (const [topic, partitions] of Object.entries(assignment)) logical[this.topics.label(topic)] = partitions;
    try {
      stage.assigned(logical, this.deps);
    } catch (error) {
      log.error({ err: error, assignment: logical }, 'the stage failed to take its new partitions');
      this.options.onFatal(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Batches only report lag while records flow; sampling the group's commits also shows a stalled consumer. */
  private startLagSampler(): void {
    if (!this.commits) return;
    const { admin, metrics, log, config } = this.options;
    this.sampler = setInterval(() => {
      for (const feed of this.topics.feeds) {
        groupLag(admin, `${this.groupId}${feed.groupSuffix}`, feed.topics).then(
          (rows) => {
            for (const row of rows) metrics.lag.set(this.lagLabels(row.topic, row.partition), row.lag);
          },
          (error: unknown) => log.debug({ err: error }, 'lag sample failed'),
        );
      }
    }, config.runtime.lagSampleMs);
    this.sampler.unref();
  }

  private lagLabels(topic: string, partition: number) {
    return { stage: this.name, topic: this.topics.label(topic), partition: String(partition) };
  }

  async eachBatch(payload: EachBatchPayload, commitQueue: CommitQueue): Promise<void> {
    const { topic, partition } = payload.batch;
    // A batch fetched just before this partition was paused: leave it for after the resume.
    if (this.topics.isRetry(topic) && this.pauses.has(partition)) return;
    const { config, signal, log } = this.options;
    const batch = new PartitionBatch(payload, {
      rank: urgencyRankOf(this.topics.label(topic)),
      commits: this.commits,
      commitQueue,
      heartbeatMs: config.runtime.consumer.heartbeatMs,
      signal,
      log,
    });
    let failure: unknown;
    const release = this.options.gate.hold(batch.rank);
    try {
      await this.runBatch(batch);
    } catch (error) {
      if (isShutdown(error)) log.info({ topic, partition }, error.message);
      else failure = error;
    } finally {
      release();
    }
    failure = await this.commitAfter(batch, failure);
    if (failure !== undefined) throw failure;
  }

  private async runBatch(batch: PartitionBatch): Promise<void> {
    const size = this.options.config.runtime.handlerBatch;
    const fromRetry = this.topics.isRetry(batch.topic);
    for (let start = 0; start < batch.messages.length; start += size) {
      if (batch.ended()) break;
      const slice = batch.messages.slice(start, start + size);
      const { chunk, notDue } = fromRetry ? dueRetries(slice, Date.now()) : { chunk: slice, notDue: undefined };
      if (chunk.length > 0) {
        await this.giveWay(batch);
        await this.handleChunk(batch, chunk);
      }
      if (notDue !== undefined) {
        this.pauses.pauseUntil(batch.partition, notDue, batch.payload.pause);
        break;
      }
      await batch.heartbeat();
    }
  }

  /**
   * Also after a failure: what was produced and acknowledged is done. A failure or a stop commits at once (kafkajs
   * is about to restart the consumer or leave the group); otherwise the offset may wait for the interval's commit.
   */
  private async commitAfter(batch: PartitionBatch, failure: unknown): Promise<unknown> {
    try {
      await batch.commit(failure !== undefined || batch.ended() || this.options.signal.aborted);
    } catch (error) {
      if (failure === undefined) return error;
      const { topic, partition } = batch;
      // A rebalance fails the commit as well; the next owner redoes what was not committed.
      if (isRebalance(failure)) this.options.log.info({ topic, partition }, 'rebalance: batch ended uncommitted');
      else this.options.log.warn({ err: error, topic, partition }, 'commit after a failed batch failed too');
    }
    return failure;
  }

  private async handleChunk(batch: PartitionBatch, chunk: KafkaMessage[]): Promise<void> {
    const { metrics } = this.options;
    const last = chunk[chunk.length - 1]!;
    const stopTimer = metrics.batchDuration.startTimer({ stage: this.name });
    const stopKeepAlive = batch.keepAlive('a chunk');
    try {
      const result = await this.runChunk(batch, chunk);
      await this.send(result);
    } finally {
      stopKeepAlive();
    }
    batch.resolve(last.offset);
    await batch.commit(false);
    stopTimer();
    metrics.lag.set(this.lagLabels(batch.topic, batch.partition), batch.lagAfter(last.offset));
  }

  private send(result: ChunkResult): Promise<void> {
    const { producer, metrics, config } = this.options;
    return sendChunkResult(producer, result, this.topics.outbox(), metrics, config.runtime.maxProduceBytes);
  }

  /** Decode, handle, isolate failures: everything but producing. */
  async runChunk(batch: PartitionBatch, chunk: KafkaMessage[]): Promise<ChunkResult> {
    const { config, metrics, log, codec, signal } = this.options;
    const result: ChunkResult = { outputs: [], failed: [] };
    const pending: PendingRecord[] = [];
    for (const message of chunk) {
      const item = this.topics.toPending(message, batch.topic, batch.partition);
      if ('failure' in item) result.failed.push(item);
      else pending.push(item);
    }
    this.countArrivals(pending);
    const processed = await processChunk(pending, {
      policy: this.policy,
      codec,
      outputTopics: this.topics.outputs,
      maxOutputBytes: config.runtime.maxProduceBytes,
      handler: this.handler,
      wait: (ms) => batch.wait(ms),
      flush: (outputs) => this.flush(batch, outputs),
      streamChunk: config.runtime.streamChunk,
      stopping: () => signal.aborted,
      onError: (error, phase) => metrics.errors.inc({ stage: this.name, code: error.code, phase }),
      onRetry: (attempt, delayMs, error) => {
        metrics.retries.inc({ stage: this.name, kind: 'backoff' });
        log.warn({ attempt, delayMs, code: error.code, err: error.message }, 'batch failed, backing off');
      },
    });
    result.outputs.push(...processed.outputs);
    result.failed.push(...processed.failed);
    for (const { destination: to, attempt, record, failure } of result.failed) {
      log.warn({ to, code: failure.code, attempt, source: record.source }, `record set aside: ${failure.message}`);
    }
    return result;
  }

  private countArrivals(pending: PendingRecord[]): void {
    const arrivals = new Map<string, number>();
    for (const item of pending) arrivals.set(item.topic, (arrivals.get(item.topic) ?? 0) + 1);
    for (const [topic, count] of arrivals) this.options.metrics.recordsIn.inc({ stage: this.name, topic }, count);
  }

  /**
   * A streaming handler's outputs leave part-way: acknowledged before the handler is asked for more. A stop
   * abandons the stream after the part in hand; what was produced is redone (same ids) by the next owner.
   */
  private async flush(batch: PartitionBatch, outputs: EncodedOutput[]): Promise<void> {
    await this.send({ outputs, failed: [] });
    await this.giveWay(batch);
    await batch
      .heartbeat()
      .catch((error: unknown) => this.options.log.debug({ err: error }, 'heartbeat during a stream failed'));
    if (this.options.signal.aborted) throw new ChunkAbandonedError();
  }

  /** Before more work of a lower lane: wait (bounded) while this process handles a higher one's records. */
  private async giveWay(batch: PartitionBatch): Promise<void> {
    if (await this.options.gate.giveWay(batch.rank)) {
      this.options.metrics.gaveWay.inc({ stage: this.name });
      await batch.heartbeat();
    }
  }
}
