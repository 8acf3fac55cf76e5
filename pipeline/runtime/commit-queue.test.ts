import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { CommitQueue, type PartitionOffset } from './commit-queue.ts';

const log = createLogger(parseConfig({ MSGXC_LOG_LEVEL: 'silent' }), 'test');
const at = (partition: number, offset: number, topic = 'lane.4'): PartitionOffset => ({
  topic,
  partition,
  offset: String(offset),
});

function queueWith(intervalMs = 1_000) {
  const later: PartitionOffset[][] = [];
  const now: PartitionOffset[][] = [];
  const commitLater = vi.fn(async (offsets: PartitionOffset[]) => {
    later.push(offsets);
  });
  const commitNow = async (offsets: PartitionOffset[]) => {
    now.push(offsets);
  };
  return { queue: new CommitQueue({ intervalMs, commitLater, log }), later, now, commitNow, commitLater };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CommitQueue', () => {
  it('commits the first batch at once, then at most once per interval, the last offsets by a trailing commit', async () => {
    const { queue, later, now, commitNow } = queueWith();
    await queue.settle(at(0, 10), commitNow, false);
    expect(now).toEqual([[at(0, 10)]]);

    // Three more batches within the interval, on two partitions: nothing is sent yet.
    await queue.settle(at(0, 11), commitNow, false);
    await queue.settle(at(1, 5), commitNow, false);
    await queue.settle(at(0, 12), commitNow, false);
    expect(now).toHaveLength(1);
    expect(later).toEqual([]);
    expect(queue.size).toBe(2);

    // The interval's end: one request with each partition's latest offset.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(later).toEqual([[at(0, 12), at(1, 5)]]);
    expect(queue.size).toBe(0);

    // A batch after the interval commits inside the batch again.
    await vi.advanceTimersByTimeAsync(1_000);
    await queue.settle(at(1, 6), commitNow, false);
    expect(now).toEqual([[at(0, 10)], [at(1, 6)]]);
  });

  it('commits at once, with what waits, when told to (a failed batch, a stop)', async () => {
    const { queue, now, commitNow, commitLater } = queueWith();
    await queue.settle(at(0, 1), commitNow, false);
    await queue.settle(at(1, 7), commitNow, false);
    await queue.settle(at(0, 2), commitNow, true);
    expect(now).toEqual([[at(0, 1)], [at(1, 7), at(0, 2)]]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(commitLater).not.toHaveBeenCalled();
  });

  it('flushes before the consumer leaves its group, and commits every later batch at once', async () => {
    const { queue, later, now, commitNow } = queueWith();
    await queue.settle(at(0, 1), commitNow, false);
    await queue.settle(at(0, 2), commitNow, false);
    await queue.flush();
    expect(later).toEqual([[at(0, 2)]]);
    await queue.settle(at(0, 3), commitNow, false);
    expect(now).toEqual([[at(0, 1)], [at(0, 3)]]);
  });

  it('keeps offsets whose commit failed, unless a newer one of the partition arrived meanwhile', async () => {
    const { queue, commitNow } = queueWith();
    await queue.settle(at(0, 1), commitNow, false);
    await queue.settle(at(0, 2), commitNow, false);
    await queue.settle(at(1, 4), commitNow, false);
    let release: () => void = () => undefined;
    const failing = async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      throw new Error('REBALANCE_IN_PROGRESS');
    };
    const attempt = queue.settle(at(1, 5), failing, true);
    await vi.advanceTimersByTimeAsync(0);
    await queue.settle(at(0, 3), commitNow, false);
    release();
    await expect(attempt).rejects.toThrow('REBALANCE_IN_PROGRESS');

    const retried: PartitionOffset[][] = [];
    await queue.settle(at(2, 9), async (offsets) => void retried.push(offsets), true);
    expect(retried).toEqual([[at(0, 3), at(1, 5), at(2, 9)]]);
  });

  it('after a rebalance drops the offsets of partitions this member lost, and forgets everything after a crash', async () => {
    const { queue, later, commitNow } = queueWith();
    await queue.settle(at(0, 1), commitNow, false);
    await queue.settle(at(0, 2), commitNow, false);
    await queue.settle(at(1, 3), commitNow, false);
    await queue.settle(at(3, 8, 'lane.3'), commitNow, false);
    queue.retain({ 'lane.4': [1, 2] });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(later).toEqual([[at(1, 3)]]);

    await queue.settle(at(1, 4), commitNow, false);
    queue.clear();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(later).toHaveLength(1);
  });

  it('with an interval of 0 commits every batch at once', async () => {
    const { queue, now, commitNow } = queueWith(0);
    await queue.settle(at(0, 1), commitNow, false);
    await queue.settle(at(0, 2), commitNow, false);
    expect(now).toEqual([[at(0, 1)], [at(0, 2)]]);
  });
});
