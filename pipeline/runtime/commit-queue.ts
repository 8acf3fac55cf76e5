import type { Logger } from '../log/index.ts';

/** The next offset to read in one partition: what a commit stores. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

export type CommitOffsets = (offsets: PartitionOffset[]) => Promise<void>;

export interface CommitQueueOptions {
  /** At most one commit per this many ms (0: every fetched batch commits at once). */
  intervalMs: number;
  /** Commits outside a batch (the trailing commit, the flush before leaving the group). */
  commitLater: CommitOffsets;
  log: Logger;
}

const keyOf = ({ topic, partition }: { topic: string; partition: number }) => `${topic}\0${partition}`;

/**
 * The offsets one consumer group membership (a feed) has handled, committed together at most every
 * `intervalMs`. At light traffic each fetched batch holds a record or two, and a commit per batch costs the
 * broker an OffsetCommit (an append to `__consumer_offsets`) per record per stage — as many requests as the
 * records' produces. Here a batch's end commits at once only when the interval has passed since the feed's
 * last commit; otherwise its offset waits for a trailing commit at the interval's end, which carries every
 * partition's latest offset in one request. What is committed is still only what was acknowledged downstream:
 * a crash redoes at most an interval of records, as one inside a long batch always could.
 */
export class CommitQueue {
  private readonly pending = new Map<string, PartitionOffset>();
  private readonly options: CommitQueueOptions;
  private lastCommitAt = 0;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  /** Commits run one after the other, so a partition's offsets reach the broker in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: CommitQueueOptions) {
    this.options = options;
  }

  /** Offsets waiting for the trailing commit. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * A fetched batch ended with `entry` handled. `commitNow` commits inside the batch (its payload's commit);
   * `now` forces it (the stage is stopping). Resolves once this offset is committed or left for later.
   */
  settle(entry: PartitionOffset, commitNow: CommitOffsets, now: boolean): Promise<void> {
    this.pending.set(keyOf(entry), entry);
    const due = now || this.closing || Date.now() - this.lastCommitAt >= this.options.intervalMs;
    if (due) return this.commitWith(commitNow);
    this.scheduleTrailing();
    return Promise.resolve();
  }

  /** Commits what is pending now, before the consumer leaves its group; batches ending after this commit at once. */
  flush(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.commitWith(this.options.commitLater);
  }

  /** After a rebalance: offsets of partitions this member no longer holds are dropped; their next owner redoes them. */
  retain(assignment: Record<string, number[]>): void {
    for (const [key, { topic, partition }] of this.pending) {
      if (!assignment[topic]?.includes(partition)) this.pending.delete(key);
    }
  }

  /** Forgets everything: the consumer is gone (a crash), its next incarnation reads the committed offsets. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private scheduleTrailing(delayMs = Math.max(0, this.lastCommitAt + this.options.intervalMs - Date.now())): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.commitWith(this.options.commitLater).catch((error: unknown) => {
        // Left pending: the next batch's end or the next trailing commit sends them again.
        this.options.log.warn({ err: error }, 'trailing offset commit failed');
        if (this.pending.size > 0) this.scheduleTrailing(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private commitWith(commit: CommitOffsets): Promise<void> {
    const run = async () => {
      if (this.pending.size === 0) return;
      const offsets = [...this.pending.values()];
      this.pending.clear();
      try {
        await commit(offsets);
        this.lastCommitAt = Date.now();
      } catch (error) {
        // A newer offset of the same partition may have arrived meanwhile: it wins.
        for (const offset of offsets) if (!this.pending.has(keyOf(offset))) this.pending.set(keyOf(offset), offset);
        throw error;
      }
    };
    const result = this.chain.then(run);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
