import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { permanent, retriable } from '../errors/index.ts';
import { messageBytes } from '../kafka/index.ts';
import { jsonCodec } from './codec.ts';
import { ChunkAbandonedError, type ChunkDependencies, type PendingRecord, processChunk } from './process.ts';
import type { ErrorPolicy, InputRecord, OutputRecord } from './types.ts';

const policy: ErrorPolicy = {
  attempts: 3,
  baseMs: 100,
  maxMs: 1_000,
  delayedAttempts: 2,
  delayedBaseMs: 10_000,
  delayedMaxMs: 60_000,
};

function pending(id: number | string, priorAttempts = 0, raw?: Buffer): PendingRecord {
  const message: KafkaMessage = {
    key: Buffer.from(`k${id}`),
    value: raw ?? Buffer.from(JSON.stringify({ id })),
    timestamp: '1700000000000',
    attributes: 0,
    offset: String(id),
    headers: { trace: 't' },
  };
  return { message, topic: 'in', source: { topic: 'msgxc.in', partition: 0, offset: String(id) }, priorAttempts };
}

const idsOf = (records: InputRecord[]) => records.map((record) => (record.value as { id: number } | null)?.id);

function harness(handler: ChunkDependencies['handler'], overrides: Partial<ChunkDependencies> = {}) {
  const waits: number[] = [];
  const calls: (number | undefined)[][] = [];
  const deps: ChunkDependencies = {
    policy,
    codec: jsonCodec,
    outputTopics: new Set(['out']),
    handler: (records) => {
      calls.push(idsOf(records));
      return handler(records);
    },
    wait: async (ms) => {
      waits.push(ms);
    },
    now: () => 1_000,
    random: () => 0,
    ...overrides,
  };
  return { deps, waits, calls };
}

const echo = async (records: InputRecord[]): Promise<OutputRecord[]> =>
  records.map((record) => ({ topic: 'out', key: record.key, value: record.value }));

describe('processChunk', () => {
  it('hands the decoded batch to the handler once and encodes its outputs', async () => {
    const { deps, calls } = harness(echo);
    const result = await processChunk([pending(1), pending(2)], deps);
    expect(calls).toEqual([[1, 2]]);
    expect(result.failed).toEqual([]);
    expect(result.outputs.map((output) => [output.key, output.value?.toString()])).toEqual([
      ['k1', '{"id":1}'],
      ['k2', '{"id":2}'],
    ]);
  });

  it('gives the handler text headers and the logical topic', async () => {
    let seen: InputRecord | undefined;
    const { deps } = harness(async (records) => {
      seen = records[0];
      return [];
    });
    await processChunk([pending(7)], deps);
    expect(seen).toEqual({
      topic: 'in',
      partition: 0,
      offset: '7',
      key: 'k7',
      value: { id: 7 },
      headers: { trace: 't' },
      timestamp: 1_700_000_000_000,
    });
  });

  it('dead-letters undecodable bytes at once and handles the rest', async () => {
    const { deps, calls, waits } = harness(echo);
    const result = await processChunk([pending(1), pending(2, 0, Buffer.from('{oops')), pending(3)], deps);
    expect(calls).toEqual([[1, 3]]);
    expect(waits).toEqual([]);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ destination: 'dlq', attempt: 1, failure: { code: 'DECODE_FAILED' } });
    expect(result.failed[0]?.record.message.offset).toBe('2');
  });

  it('retries a retriable decode failure within the budget, then sends it to the retry topic', async () => {
    let failures = 0;
    const flaky = {
      encode: jsonCodec.encode,
      decode: async (buffer: Buffer) => {
        if (buffer.toString().includes('"id":2')) {
          failures++;
          throw retriable('REGISTRY_UNAVAILABLE', 'registry down');
        }
        return jsonCodec.decode(buffer);
      },
    };
    const { deps, waits, calls } = harness(echo, { codec: flaky });
    const result = await processChunk([pending(1), pending(2)], deps);
    expect(failures).toBe(3);
    expect(waits).toEqual([50, 100]);
    expect(calls).toEqual([[1]]);
    expect(result.failed[0]).toMatchObject({ destination: 'retry', failure: { code: 'REGISTRY_UNAVAILABLE' } });
  });

  it('backs off between retriable batch failures and succeeds when the handler recovers', async () => {
    let calls = 0;
    const { deps, waits } = harness(async (records) => {
      calls++;
      if (calls <= 2) throw retriable('DOWNSTREAM_BUSY', 'try later');
      return echo(records);
    });
    const result = await processChunk([pending(1), pending(2)], deps);
    expect(waits).toEqual([50, 100]);
    expect(result.outputs).toHaveLength(2);
    expect(result.failed).toEqual([]);
  });

  it('isolates a permanently failing record by bisection without retrying, and lets the others through', async () => {
    const { deps, calls, waits } = harness(async (records) => {
      if (idsOf(records).includes(3)) throw permanent('BAD_RECORD', 'record 3 is bad');
      return echo(records);
    });
    const result = await processChunk(
      [1, 2, 3, 4, 5].map((id) => pending(id)),
      deps,
    );
    expect(waits).toEqual([]);
    expect(calls[0]).toEqual([1, 2, 3, 4, 5]);
    expect(result.outputs.map((output) => output.key).sort()).toEqual(['k1', 'k2', 'k4', 'k5']);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ destination: 'dlq', attempt: 1, failure: { code: 'BAD_RECORD' } });
    expect(result.failed[0]?.record.source.offset).toBe('3');
    // Bisection: far fewer calls than one per record after the full-batch attempt.
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(5)) + 1);
  });

  it('sends a record failing retriably past the budget to the retry topic with a delay, then to the DLQ', async () => {
    const handler: ChunkDependencies['handler'] = async (records) => {
      if (idsOf(records).includes(2)) throw retriable('DOWNSTREAM_TIMEOUT', 'slow');
      return echo(records);
    };
    const fresh = await processChunk([pending(1), pending(2)], harness(handler).deps);
    expect(fresh.outputs).toHaveLength(1);
    expect(fresh.failed[0]).toMatchObject({ destination: 'retry', attempt: 1, retryAt: 1_000 + 5_000 });

    const secondTrip = await processChunk([pending(2, 1)], harness(handler).deps);
    expect(secondTrip.failed[0]).toMatchObject({ destination: 'retry', attempt: 2, retryAt: 1_000 + 10_000 });

    const exhausted = await processChunk([pending(2, 2)], harness(handler).deps);
    expect(exhausted.failed[0]).toMatchObject({ destination: 'dlq', attempt: 3 });
    expect(exhausted.failed[0]?.retryAt).toBeUndefined();
  });

  it('dead-letters retriable failures directly when delayed retries are off', async () => {
    const { deps } = harness(
      async () => {
        throw retriable('DOWNSTREAM_TIMEOUT', 'slow');
      },
      { policy: { ...policy, delayedAttempts: 0, attempts: 1 } },
    );
    const result = await processChunk([pending(1)], deps);
    expect(result.failed[0]).toMatchObject({ destination: 'dlq', attempt: 1 });
  });

  it('treats an output to an undeclared topic or one that fails to encode as the input record failing', async () => {
    const { deps } = harness(async (records) =>
      records.map((record) => ({ topic: idsOf([record])[0] === 2 ? 'elsewhere' : 'out', value: record.value })),
    );
    const result = await processChunk([pending(1), pending(2)], deps);
    expect(result.outputs).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ destination: 'dlq', failure: { code: 'OUTPUT_TOPIC_UNDECLARED' } });

    const strict = {
      decode: jsonCodec.decode,
      encode: async (_topic: string, value: unknown) => {
        if ((value as { id: number }).id === 1) throw permanent('SCHEMA_MISMATCH', 'missing field');
        return jsonCodec.encode(_topic, value);
      },
    };
    const encoded = await processChunk([pending(1), pending(2)], harness(echo, { codec: strict }).deps);
    expect(encoded.outputs.map((output) => output.key)).toEqual(['k2']);
    expect(encoded.failed[0]).toMatchObject({ failure: { code: 'SCHEMA_MISMATCH' } });
  });

  it('refuses an output the broker would refuse (too large) as a permanent failure of its input', async () => {
    const { deps } = harness(
      async (records) =>
        records.map((record) => ({
          topic: 'out',
          value: idsOf([record])[0] === 2 ? { id: 2, blob: 'x'.repeat(2_000) } : record.value,
        })),
      { maxOutputBytes: 1_000 },
    );
    const result = await processChunk([pending(1), pending(2), pending(3)], deps);
    expect(result.outputs).toHaveLength(2);
    expect(result.failed[0]).toMatchObject({ destination: 'dlq', failure: { code: 'OUTPUT_TOO_LARGE' } });
    expect(result.failed[0]?.record.source.offset).toBe('2');
  });

  it('abandons a failing chunk when the stage is stopping instead of retrying or setting records aside', async () => {
    let stopping = false;
    const { deps, waits } = harness(
      async () => {
        stopping = true; // the handler saw the shutdown signal and gave up
        throw new Error('aborted');
      },
      { stopping: () => stopping },
    );
    await expect(processChunk([pending(1), pending(2)], deps)).rejects.toBeInstanceOf(ChunkAbandonedError);
    expect(waits).toEqual([]);
  });

  it('passes tombstones through as null values', async () => {
    const record = pending(1);
    record.message.value = null;
    const { deps } = harness(async (records) => [{ topic: 'out', key: records[0]?.key ?? null, value: null }]);
    const result = await processChunk([record], deps);
    expect(result.outputs).toEqual([{ topic: 'out', key: 'k1', value: null, headers: undefined }]);
  });
});

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
