import { describe, expect, it } from 'vitest';
import { createBatchingSink, type SinkRecord } from './sink.ts';

const record = (key: string): SinkRecord => ({ topic: 'acks', key, value: { key } });

describe('createBatchingSink', () => {
  it('gathers records from many callers into one send and settles each caller', async () => {
    const sends: SinkRecord[][] = [];
    const sink = createBatchingSink(
      async (records) => {
        sends.push(records);
      },
      { lingerMs: 5, maxRecords: 100 },
    );
    await Promise.all([sink.emit([record('a')]), sink.emit([record('b'), record('c')]), sink.emit([record('d')])]);
    expect(sends).toHaveLength(1);
    expect(sends[0]?.map((item) => item.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sends at once when maxRecords is reached', async () => {
    const sends: number[] = [];
    const sink = createBatchingSink(
      async (records) => {
        sends.push(records.length);
      },
      { lingerMs: 60_000, maxRecords: 3 },
    );
    await sink.emit([record('a'), record('b'), record('c')]);
    expect(sends).toEqual([3]);
  });

  it('rejects the callers of a batch that failed, and the next batch goes on', async () => {
    let fail = true;
    const sink = createBatchingSink(
      async () => {
        if (fail) throw new Error('broker down');
      },
      { lingerMs: 1 },
    );
    await expect(sink.emit([record('a')])).rejects.toThrow('broker down');
    fail = false;
    await expect(sink.emit([record('b')])).resolves.toBeUndefined();
  });

  it('flush sends what is gathered without waiting for the linger', async () => {
    const sends: number[] = [];
    const sink = createBatchingSink(
      async (records) => {
        sends.push(records.length);
      },
      { lingerMs: 60_000 },
    );
    const pending = sink.emit([record('a'), record('b')]);
    await sink.flush();
    await pending;
    expect(sends).toEqual([2]);
  });
});
