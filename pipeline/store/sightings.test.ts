import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../kafka/partition-reader.ts';
import { createSightingLog, type SightingRecord } from './sightings.ts';

/** A changelog topic in memory: partition → records in offset order, JSON values. */
function changelog(partitions: number) {
  const logs = Array.from({ length: partitions }, () => [] as StoredRecord[]);
  const reads: { partition: number; from: bigint }[] = [];
  return {
    reads,
    append(partition: number, record: SightingRecord) {
      const log = logs[partition]!;
      log.push({
        offset: BigInt(log.length),
        key: Buffer.from(record.requestId),
        value: Buffer.from(JSON.stringify(record)),
      });
    },
    async read(partition: number, from: bigint, onRecords: (records: StoredRecord[]) => Promise<void>) {
      reads.push({ partition, from });
      const log = logs[partition]!;
      await onRecords(log.filter((record) => record.offset >= from));
      return BigInt(log.length);
    },
  };
}

function setup(options: { partitions?: number; windowMs?: number } = {}) {
  const partitions = options.partitions ?? 3;
  const topic = changelog(partitions);
  let clock = 1_000_000;
  const open = () =>
    createSightingLog({
      partitions,
      windowMs: options.windowMs ?? 60_000,
      read: (partition, from, onRecords) => topic.read(partition, from, onRecords),
      decode: async (value) => JSON.parse(value.toString()) as SightingRecord,
      now: () => clock,
    });
  /** What the stage does with the marks: produce them, keyed, to the changelog. */
  const produce = (log: ReturnType<typeof open>, admitted: { requestId: string; origin: string }[]) => {
    for (const mark of log.marks(admitted)) topic.append(log.partitionOf(mark.requestId), mark);
  };
  return { topic, open, produce, tick: (ms: number) => (clock += ms), now: () => clock };
}

describe('the sightings log', () => {
  it('admits a first sighting and its redelivery, drops another record with the id', async () => {
    const { open } = setup();
    const log = open();
    log.assigned([0, 1, 2]);
    expect(await log.admitMany([{ requestId: 'r1', origin: 'ingest/0/5' }])).toEqual([true]);
    expect(
      await log.admitMany([
        { requestId: 'r1', origin: 'ingest/0/9' },
        { requestId: 'r1', origin: 'ingest/0/5' },
        { requestId: 'r2', origin: 'ingest/1/1' },
      ]),
    ).toEqual([false, true, true]);
  });

  it('a member started later knows what the changelog says: repeats dropped, the same record admitted', async () => {
    const { open, produce, tick, now } = setup();
    const first = open();
    first.assigned([0, 1, 2]);
    const seenAt = now();
    const sightings = ['a', 'b', 'c', 'd'].map((id, n) => ({ requestId: id, origin: `ingest/${n % 3}/${n}` }));
    expect(await first.admitMany(sightings)).toEqual([true, true, true, true]);
    produce(first, sightings);

    tick(5_000);
    const second = open();
    second.assigned([0, 1, 2]);
    const repeats = sightings.map(({ requestId }) => ({ requestId, origin: 'ingest/0/99' }));
    expect(await second.admitMany(repeats)).toEqual([false, false, false, false]);
    expect(await second.admitMany([sightings[2]!])).toEqual([true]);
    // A redelivery's mark keeps the first sighting's time: its window is not stretched.
    expect(second.marks([sightings[2]!])).toEqual([{ ...sightings[2], seenAt }]);
  });

  it('after a rebalance, reads only what was written since it last read', async () => {
    const { open, produce, topic } = setup({ partitions: 1 });
    const one = open();
    const other = open();
    other.assigned([0]);
    await other.admitMany([{ requestId: 'w', origin: 'ingest/0/0' }]);
    produce(other, [{ requestId: 'w', origin: 'ingest/0/0' }]);
    topic.reads.length = 0;
    one.assigned([0]);
    await one.admitMany([{ requestId: 'x', origin: 'ingest/0/1' }]);
    produce(one, [{ requestId: 'x', origin: 'ingest/0/1' }]);
    expect(topic.reads).toEqual([{ partition: 0, from: 0n }]);

    // Owned and read: decisions need no read.
    await one.admitMany([{ requestId: 'y', origin: 'ingest/0/2' }]);
    produce(one, [{ requestId: 'y', origin: 'ingest/0/2' }]);
    expect(topic.reads).toHaveLength(1);

    // The partition moves to another member, which sees both, admits z, and moves it back.
    other.assigned([0]);
    expect(await other.admitMany([{ requestId: 'y', origin: 'ingest/0/7' }])).toEqual([false]);
    await other.admitMany([{ requestId: 'z', origin: 'ingest/0/3' }]);
    produce(other, [{ requestId: 'z', origin: 'ingest/0/3' }]);
    one.assigned([0]);
    expect(await one.admitMany([{ requestId: 'z', origin: 'ingest/0/8' }])).toEqual([false]);
    expect(topic.reads.at(-1)).toEqual({ partition: 0, from: 1n });
  });

  it('a read overtaken by an assignment leaves the partition to be read again', async () => {
    const { open, topic } = setup({ partitions: 1 });
    const gate = Promise.withResolvers<void>();
    const log = createSightingLog({
      partitions: 1,
      windowMs: 60_000,
      // The first read waits until the test lets it finish: an assignment comes in meanwhile.
      read: async (partition, from, onRecords) => {
        if (topic.reads.length === 0) await gate.promise;
        return topic.read(partition, from, onRecords);
      },
      decode: async (value) => JSON.parse(value.toString()) as SightingRecord,
    });
    log.assigned([0]);
    const first = log.admitMany([{ requestId: 'r', origin: 'ingest/0/1' }]);
    await Promise.resolve();
    log.assigned([0]);
    gate.resolve();
    await first;
    // Another member wrote while the partition was away: the next decision reads it.
    const other = open();
    other.assigned([0]);
    await other.admitMany([{ requestId: 's', origin: 'ingest/0/2' }]);
    topic.append(0, { requestId: 's', origin: 'ingest/0/2', seenAt: Date.now() });
    expect(await log.admitMany([{ requestId: 's', origin: 'ingest/0/9' }])).toEqual([false]);
  });

  it('reads a partition it does not own before every decision (a record replayed from the retry topic)', async () => {
    const { open, produce, topic } = setup({ partitions: 1 });
    const owner = open();
    const replayer = open();
    owner.assigned([0]);
    replayer.assigned([]);
    expect(await replayer.admitMany([{ requestId: 'q', origin: 'ingest/0/4' }])).toEqual([true]);
    await owner.admitMany([{ requestId: 'p', origin: 'ingest/0/5' }]);
    produce(owner, [{ requestId: 'p', origin: 'ingest/0/5' }]);
    expect(await replayer.admitMany([{ requestId: 'p', origin: 'ingest/0/6' }])).toEqual([false]);
    expect(topic.reads.filter(({ partition }) => partition === 0)).toHaveLength(3);
  });

  it('forgets a sighting after the window', async () => {
    const { open, produce, tick } = setup({ windowMs: 10_000 });
    const log = open();
    log.assigned([0, 1, 2]);
    await log.admitMany([{ requestId: 'old', origin: 'ingest/1/1' }]);
    produce(log, [{ requestId: 'old', origin: 'ingest/1/1' }]);
    tick(10_001);
    expect(await log.admitMany([{ requestId: 'old', origin: 'ingest/1/2' }])).toEqual([true]);
    expect(log.size()).toBe(1);
    // A member restoring now skips the expired record, and keeps the new one.
    const restored = open();
    restored.assigned([0, 1, 2]);
    produce(log, [{ requestId: 'old', origin: 'ingest/1/2' }]);
    expect(await restored.admitMany([{ requestId: 'old', origin: 'ingest/1/2' }])).toEqual([true]);
    expect(await restored.admitMany([{ requestId: 'old', origin: 'ingest/1/3' }])).toEqual([false]);
  });

  it('puts a request id on the partition kafkajs gives the key it is produced with', () => {
    const { open } = setup({ partitions: 6 });
    const log = open();
    const kafkajsPartition = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));
    const spread = new Set<number>();
    for (const requestId of ['a', 'request-1', '7f9c2a6e-44b1-4e0b-9a51-3d1f0c2b8e77', 'ünïcode', 'x'.repeat(200)]) {
      const expected = kafkajsPartition({
        topic: 'ingest',
        partitionMetadata,
        message: { key: requestId, value: null },
      });
      expect(log.partitionOf(requestId)).toBe(expected);
      spread.add(expected);
    }
    expect(spread.size).toBeGreaterThan(1);
  });
});
