import { setTimeout as sleep } from 'node:timers/promises';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '../log/index.ts';
import type { UrgencyRank } from '../topics/lanes.ts';
import { ChunkAbandonedError } from './classify.ts';
import type { CommitQueue, PartitionOffset } from './commit-queue.ts';
import { failureHeader, textHeaders } from './headers.ts';

export interface PartitionBatchOptions {
  /** The urgency rank of the batch's topic (urgency-gate.ts); null for topics of every urgency. */
  rank: UrgencyRank | null;
  /** Whether resolved offsets are committed (every group does; a stage runner may opt out). */
  commits: boolean;
  /** The feed's commits (commit-queue.ts): a batch's offsets wait there for the interval's commit. */
  commitQueue: CommitQueue;
  heartbeatMs: number;
  signal: AbortSignal;
  log: Logger;
}

/**
 * One fetched batch of one partition: its heartbeats, back-off waits and the offsets it resolves and commits.
 * Only ever offsets whose outputs are acknowledged are resolved; they are committed through the feed's commit
 * queue, at most every `commitIntervalMs` (a trailing commit takes the last ones), and at once when the batch
 * fails or the stage stops.
 */
export class PartitionBatch {
  private lastResolved: string | undefined;
  private lastSettled: string | undefined;

  readonly payload: EachBatchPayload;
  private readonly options: PartitionBatchOptions;

  constructor(payload: EachBatchPayload, options: PartitionBatchOptions) {
    this.payload = payload;
    this.options = options;
  }

  get rank(): UrgencyRank | null {
    return this.options.rank;
  }

  get topic(): string {
    return this.payload.batch.topic;
  }

  get partition(): number {
    return this.payload.batch.partition;
  }

  get messages(): KafkaMessage[] {
    return this.payload.batch.messages;
  }

  /** The consumer stopped or the partition was revoked: the rest of the batch is left to its next owner. */
  ended(): boolean {
    return !this.payload.isRunning() || this.payload.isStale();
  }

  heartbeat(): Promise<void> {
    return this.payload.heartbeat();
  }

  /** A back-off that keeps the group membership; the shutdown cuts it short and abandons the chunk. */
  async wait(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      await sleep(Math.min(left, this.options.heartbeatMs), undefined, { signal: this.options.signal }).catch(() => {
        throw new ChunkAbandonedError();
      });
      await this.heartbeat();
    }
  }

  /**
   * Heartbeats in the background while a slow chunk runs, so it does not cost the group membership; a rebalance
   * this reveals ends the batch at the next awaited heartbeat. Returns the function that stops it.
   */
  keepAlive(what: string): () => void {
    const timer = setInterval(() => {
      this.heartbeat().catch((error: unknown) =>
        this.options.log.debug({ err: error }, `heartbeat during ${what} failed`),
      );
    }, this.options.heartbeatMs);
    return () => clearInterval(timer);
  }

  resolve(offset: string): void {
    this.payload.resolveOffset(offset);
    this.lastResolved = offset;
  }

  /**
   * Hands the last resolved offset to the commit queue; `now` commits it (and whatever of the feed waits, this
   * batch's earlier offset included) at once.
   */
  async commit(now: boolean): Promise<void> {
    if (!this.options.commits || this.lastResolved === undefined) return;
    if (!now && this.lastResolved === this.lastSettled) return;
    const offset = String(BigInt(this.lastResolved) + 1n);
    const { topic, partition } = this;
    await this.options.commitQueue.settle({ topic, partition, offset }, (offsets) => this.commitNow(offsets), now);
    this.lastSettled = this.lastResolved;
  }

  private async commitNow(offsets: PartitionOffset[]): Promise<void> {
    const topics = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partition, offset } of offsets) {
      topics.set(topic, [...(topics.get(topic) ?? []), { partition, offset }]);
    }
    await this.payload.commitOffsetsIfNecessary({
      topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
    });
  }

  /** Records left behind the last one handled, for the lag gauge. */
  lagAfter(offset: string): number {
    return Math.max(0, Number(this.payload.batch.highWatermark) - Number(offset) - 1);
  }
}

/** Retry-topic partitions whose head is not due yet: paused, resumed by a timer at the head's retry time. */
export class RetryPauses {
  private readonly timers = new Map<number, NodeJS.Timeout>();

  has(partition: number): boolean {
    return this.timers.has(partition);
  }

  pauseUntil(partition: number, retryAt: number, pause: () => () => void): void {
    const resume = pause();
    const timer = setTimeout(
      () => {
        this.timers.delete(partition);
        resume();
      },
      Math.max(10, retryAt - Date.now()),
    );
    this.timers.set(partition, timer);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/** A retry-topic chunk cut before its first record not due yet; `notDue` is that record's retry time. */
export function dueRetries(chunk: KafkaMessage[], now: number): { chunk: KafkaMessage[]; notDue?: number } {
  const index = chunk.findIndex((message) => retryAtOf(message) > now);
  if (index < 0) return { chunk };
  return { chunk: chunk.slice(0, index), notDue: retryAtOf(chunk[index]!) };
}

function retryAtOf(message: KafkaMessage): number {
  const value = Number(textHeaders(message.headers)[failureHeader.retryAt]);
  return Number.isFinite(value) ? value : 0;
}
