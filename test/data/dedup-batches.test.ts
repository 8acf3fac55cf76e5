import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createDedupStore, type DedupStore } from '../../pipeline/store/index.ts';
import { createTestKeyspace, type TestKeyspace } from './support.ts';

let keyspace: TestKeyspace;
let dedup: DedupStore;

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  dedup = createDedupStore(keyspace.client);
});
afterAll(async () => keyspace?.dispose());

const sighting = (requestId: string, partition: number, offset: number) => ({
  requestId,
  origin: `ingest/${partition}/${offset}`,
});

describe('dedup store: request ids claimed a chunk at a time', () => {
  it('admits new ids and redeliveries, drops repeats, and lets the earlier of two records in one chunk win', async () => {
    const chunk = [sighting('c-1', 0, 1), sighting('c-2', 0, 2), sighting('c-1', 0, 3), sighting('c-3', 0, 4)];
    expect(await dedup.admitMany(chunk)).toEqual([true, true, false, true]);
    // The same records again (a redelivery after a crash) pass; a client retry of c-2 at a new offset does not.
    expect(await dedup.admitMany([...chunk, sighting('c-2', 0, 9), sighting('c-4', 0, 10)])).toEqual([
      true,
      true,
      false,
      true,
      false,
      true,
    ]);
    expect(await dedup.admit('c-4', 'ingest/0/10')).toBe(true);
    expect(await dedup.admit('c-4', 'ingest/0/11')).toBe(false);
  });

  it('claims the free ids of a chunk in which some ids are known already', async () => {
    await dedup.admitMany([sighting('m-2', 1, 2), sighting('m-5', 1, 5)]);
    const chunk = Array.from({ length: 250 }, (_, index) => sighting(`m-${index}`, 1, 1_000 + index));
    const admitted = await dedup.admitMany(chunk);
    expect(admitted.filter((ok) => !ok)).toHaveLength(2);
    expect(admitted[2]).toBe(false);
    expect(admitted[5]).toBe(false);
    // All 248 others are claimed now: a later record with any of them is a repeat.
    const again = await dedup.admitMany(chunk.map(({ requestId }, index) => sighting(requestId, 4, 5_000 + index)));
    expect(again.every((ok) => !ok)).toBe(true);
  });

  it('lets exactly one of two instances claim an id both see at once, on another client', async () => {
    const other = createCassandra(keyspace.config);
    try {
      const ids = Array.from({ length: 40 }, (_, index) => `race-${index}`);
      const [first, second] = await Promise.all([
        dedup.admitMany(ids.map((id, index) => sighting(id, 2, index))),
        createDedupStore(other).admitMany(ids.map((id, index) => sighting(id, 2, 100 + index))),
      ]);
      for (const index of ids.keys()) expect([first[index], second[index]].filter(Boolean)).toHaveLength(1);
    } finally {
      await other.shutdown();
    }
  });

  it('remembers a first sighting made before the day boundary', async () => {
    const now = Date.now();
    const yesterday = new Date(now - 86_400_000 + 60_000);
    expect(await dedup.admitMany([sighting('late', 3, 7)], yesterday)).toEqual([true]);
    expect(await dedup.admitMany([sighting('late', 3, 7), sighting('late', 3, 8)], new Date(now))).toEqual([
      true,
      false,
    ]);
  });
});
