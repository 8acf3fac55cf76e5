import type { KafkaMessage } from 'kafkajs';
import { jsonCodec } from '../../pipeline/runtime/codec.ts';
import type { ChunkDependencies, PendingRecord } from '../../pipeline/runtime/process.ts';
import type { ErrorPolicy, InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';

/** Builders shared by the unit tests of `processChunk` (pipeline/runtime/process*.test.ts). */

export const policy: ErrorPolicy = {
  attempts: 3,
  baseMs: 100,
  maxMs: 1_000,
  delayedAttempts: 2,
  delayedBaseMs: 10_000,
  delayedMaxMs: 60_000,
};

export function pending(id: number | string, priorAttempts = 0, raw?: Buffer): PendingRecord {
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

export const idsOf = (records: InputRecord[]) => records.map((record) => (record.value as { id: number } | null)?.id);

export function harness(handler: ChunkDependencies['handler'], overrides: Partial<ChunkDependencies> = {}) {
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

export const echo = async (records: InputRecord[]): Promise<OutputRecord[]> =>
  records.map((record) => ({ topic: 'out', key: record.key, value: record.value }));
