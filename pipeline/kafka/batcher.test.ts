import { describe, expect, it } from 'vitest';
import { createBatcher } from './batcher.ts';

interface SinkRecord {
  topic: string;
  key: string;
  value: unknown;
}

const record = (key: string): SinkRecord => ({ topic: 'acks', key, value: { key } });

describe('createBatcher', () => {
  it('gathers records from many callers into one send and settles each caller', async () => {
    const sends: SinkRecord[][] = [];
    const sink = createBatcher(
      async (records: SinkRecord[]) => {
        sends.push(records);
      },
      { lingerMs: 5, maxRecords: 100 },
    );
    await Promise.all([sink.add([record('a')]), sink.add([record('b'), record('c')]), sink.add([record('d')])]);
    expect(sends).toHaveLength(1);
    expect(sends[0]?.map((item) => item.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sends at once when maxRecords is reached', async () => {
    const sends: number[] = [];
    const sink = createBatcher(
      async (records: SinkRecord[]) => {
        sends.push(records.length);
      },
      { lingerMs: 60_000, maxRecords: 3 },
    );
    await sink.add([record('a'), record('b'), record('c')]);
    expect(sends).toEqual([3]);
  });

  it('rejects the callers of a batch that failed, and the next batch goes on', async () => {
    let fail = true;
    const sink = createBatcher(
      async () => {
        if (fail) throw new Error('broker down');
      },
      { lingerMs: 1 },
    );
    await expect(sink.add([record('a')])).rejects.toThrow('broker down');
    fail = false;
    await expect(sink.add([record('b')])).resolves.toBeUndefined();
  });

  it('flush sends what is gathered without waiting for the linger', async () => {
    const sends: number[] = [];
    const sink = createBatcher(
      async (records: SinkRecord[]) => {
        sends.push(records.length);
      },
      { lingerMs: 60_000 },
    );
    const pending = sink.add([record('a'), record('b')]);
    await sink.flush();
    await pending;
    expect(sends).toEqual([2]);
  });
});

describe('createBatcher with one send in flight (group commit)', () => {
  it('gathers what arrives in one event-loop turn, and what arrives while a send is in flight into the next', async () => {
    const sends: string[][] = [];
    let release: () => void = () => undefined;
    const sink = createBatcher(
      async (items: string[]) => {
        sends.push(items);
        if (sends.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return sends.length;
      },
      { lingerMs: 0, maxInFlight: 1 },
    );
    const first = [sink.add(['a']), sink.add(['b'])];
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends).toEqual([['a', 'b']]);
    const second = [sink.add(['c']), sink.add(['d', 'e'])];
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends).toHaveLength(1);
    release();
    expect(await Promise.all(first)).toEqual([1, 1]);
    expect(await Promise.all(second)).toEqual([2, 2]);
    expect(sends).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });

  it('never splits one caller’s records, and starts a new send past maxRecords', async () => {
    const sends: number[] = [];
    const sink = createBatcher(
      async (items: number[]) => {
        sends.push(items.length);
      },
      { lingerMs: 0, maxInFlight: 1, maxRecords: 3 },
    );
    await Promise.all([sink.add([1, 2]), sink.add([3, 4]), sink.add([5, 6, 7, 8])]);
    expect(sends).toEqual([2, 2, 4]);
  });

  it('flush waits for queued and in-flight sends', async () => {
    const done: number[] = [];
    const sink = createBatcher(
      async (items: number[]) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        done.push(...items);
      },
      { lingerMs: 0, maxInFlight: 1, maxRecords: 1 },
    );
    void sink.add([1]);
    void sink.add([2]);
    await sink.flush();
    expect(done).toEqual([1, 2]);
  });
});
