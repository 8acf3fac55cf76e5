import { describe, expect, it } from 'vitest';
import { harness, pending } from '../../test/support/process-chunk.ts';
import { permanent, retriable } from '../errors/index.ts';
import { messageBytes } from '../kafka/index.ts';
import { ChunkAbandonedError, type ChunkDependencies, processChunk } from './process.ts';
import type { InputRecord, OutputRecord } from './types.ts';

describe('processChunk with a streaming handler', () => {
  /** Yields `perRecord` outputs per input record, keyed `<id>:<n>`; `fail(id, n)` may throw instead. */
  const stream = (perRecord: number, fail: (id: number, n: number) => void = () => undefined) =>
    async function* (records: InputRecord[]): AsyncGenerator<OutputRecord> {
      for (const record of records) {
        const id = (record.value as { id: number }).id;
        for (let n = 0; n < perRecord; n++) {
          fail(id, n);
          yield { topic: 'out', key: `${id}:${n}`, value: { id, n } };
        }
      }
    };

  /** Records what each flush produced; the handler is only resumed once a flush resolved. */
  function flushes() {
    const sent: string[][] = [];
    return {
      sent,
      flush: async (outputs: { key: string | null }[]) => {
        sent.push(outputs.map((output) => output.key ?? ''));
      },
    };
  }

  it('flushes every streamChunk records and returns only the tail, all in order', async () => {
    const { sent, flush } = flushes();
    const { deps, calls } = harness(stream(2_500), { flush, streamChunk: 1_000 });
    const result = await processChunk([pending(1)], deps);
    expect(calls).toEqual([[1]]);
    expect(sent.map((chunk) => chunk.length)).toEqual([1_000, 1_000]);
    expect(result.outputs).toHaveLength(500);
    const all = [...sent.flat(), ...result.outputs.map((output) => output.key)];
    expect(all).toEqual(Array.from({ length: 2_500 }, (_, n) => `1:${n}`));
    expect(result.failed).toEqual([]);
  });

  it('flushes sooner when the next output would take the chunk over the byte budget', async () => {
    const { sent, flush } = flushes();
    // Ten outputs of the same size; the budget holds three and a bit.
    const one = messageBytes({ key: '1:0', value: Buffer.from(JSON.stringify({ id: 1, n: 0 })) });
    const { deps } = harness(stream(10), { flush, streamChunk: 1_000, maxOutputBytes: 3 * one + 10 });
    const result = await processChunk([pending(1)], deps);
    expect(sent.map((chunk) => chunk.length)).toEqual([3, 3, 3]);
    expect(result.outputs).toHaveLength(1);
  });

  it('only asks the stream for more once the previous flush is acknowledged', async () => {
    let pulled = 0;
    const inFlight: number[] = [];
    const handler = async function* (): AsyncGenerator<OutputRecord> {
      for (let n = 0; n < 30; n++) {
        pulled++;
        yield { topic: 'out', key: String(n), value: n };
      }
    };
    const { deps } = harness(handler, {
      streamChunk: 10,
      flush: async () => {
        inFlight.push(pulled);
        await new Promise((resolve) => setTimeout(resolve, 5));
        // Nothing was pulled while this flush was waiting for its acknowledgement.
        expect(pulled).toBe(inFlight.at(-1));
      },
    });
    await processChunk([pending(1)], deps);
    expect(inFlight).toEqual([10, 20, 30]);
  });

  it('re-runs a stream that throws from the start after a back-off; earlier flushes repeat', async () => {
    const { sent, flush } = flushes();
    let tries = 0;
    const { deps, waits } = harness(
      stream(25, (_id, n) => {
        if (n === 0) tries++;
        if (n === 15 && tries === 1) throw retriable('DOWNSTREAM_BUSY', 'try later');
      }),
      { flush, streamChunk: 10 },
    );
    const result = await processChunk([pending(1)], deps);
    expect(waits).toEqual([50]);
    // First try: 10 flushed, then the failure (the 5 pending are dropped); second try: all 25.
    expect(sent.map((chunk) => chunk[0])).toEqual(['1:0', '1:0', '1:10']);
    expect(result.outputs.map((output) => output.key)).toEqual(['1:20', '1:21', '1:22', '1:23', '1:24']);
    expect(result.failed).toEqual([]);
  });

  it('isolates the input whose part of the stream fails permanently, re-running per half', async () => {
    const { sent, flush } = flushes();
    const { deps } = harness(
      stream(3, (id) => {
        if (id === 2) throw permanent('BAD_RECORD', 'record 2 is bad');
      }),
      { flush, streamChunk: 2 },
    );
    const result = await processChunk([pending(1), pending(2), pending(3)], deps);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ destination: 'dlq', failure: { code: 'BAD_RECORD' } });
    expect(result.failed[0]?.record.source.offset).toBe('2');
    const produced = new Set([...sent.flat(), ...result.outputs.map((output) => output.key)]);
    expect([...produced].sort()).toEqual(['1:0', '1:1', '1:2', '3:0', '3:1', '3:2']);
  });

  it('lets a failed flush end the chunk (not a record failure) and closes the stream', async () => {
    let closed = false;
    const handler = async function* (): AsyncGenerator<OutputRecord> {
      try {
        for (let n = 0; ; n++) yield { topic: 'out', key: String(n), value: n };
      } finally {
        closed = true;
      }
    };
    const down = new Error('broker unavailable');
    const { deps, waits } = harness(handler, {
      streamChunk: 5,
      flush: async () => {
        throw down;
      },
    });
    await expect(processChunk([pending(1)], deps)).rejects.toBe(down);
    expect(closed).toBe(true);
    expect(waits).toEqual([]);
  });

  it('abandons a stream when a flush reports the stage stopping', async () => {
    let flushed = 0;
    const { deps } = harness(stream(100), {
      streamChunk: 10,
      flush: async () => {
        flushed++;
        if (flushed === 2) throw new ChunkAbandonedError();
      },
    });
    await expect(processChunk([pending(1)], deps)).rejects.toBeInstanceOf(ChunkAbandonedError);
    expect(flushed).toBe(2);
  });

  it('keeps a stream whole when no flush is given, like an array', async () => {
    const { deps } = harness(stream(3));
    const result = await processChunk([pending(1), pending(2)], deps);
    expect(result.outputs.map((output) => output.key)).toEqual(['1:0', '1:1', '1:2', '2:0', '2:1', '2:2']);
  });

  it('refuses a handler result that is neither an array nor a stream', async () => {
    const { deps } = harness((async () => 'nope') as unknown as ChunkDependencies['handler']);
    const result = await processChunk([pending(1)], deps);
    expect(result.failed[0]).toMatchObject({ destination: 'dlq', failure: { code: 'HANDLER_RESULT_INVALID' } });
  });
});
