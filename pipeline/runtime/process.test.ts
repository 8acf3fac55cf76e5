import { describe, expect, it } from 'vitest';
import { echo, harness, idsOf, pending, policy } from '../../test/support/process-chunk.ts';
import { permanent, retriable } from '../errors/index.ts';
import { jsonCodec } from './codec.ts';
import { ChunkAbandonedError, type ChunkDependencies, processChunk } from './process.ts';
import type { InputRecord } from './types.ts';

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
