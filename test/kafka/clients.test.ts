import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import {
  createKafka,
  createRecordProducer,
  createTopicsIfMissing,
  type EncodedRecord,
  kafkajsTransport,
  platformaticTransport,
  producerConfig,
  type RecordProducer,
} from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import { dropTestData, httpTestConfig } from '../http/support.ts';

/**
 * The stages produce with `@platformatic/kafka`, the facade and every consumer with kafkajs: on the real broker,
 * a key lands on the partition kafkajs (and the Java client) would put it on, and records keep their keys,
 * headers, nulls and order.
 */

const partitions = 7;
let config: Config;
const open: RecordProducer[] = [];

beforeAll(async () => {
  config = httpTestConfig();
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    await createTopicsIfMissing(admin, [
      { topic: topicName(config, 'clients-check'), partitions, retentionMs: 3_600_000 },
    ]);
  } finally {
    await admin.disconnect();
  }
});

afterAll(async () => {
  await Promise.allSettled(open.map((producer) => producer.close()));
  if (config) await dropTestData(config);
});

function producerWith(client: 'platformatic' | 'kafkajs'): RecordProducer {
  const log = createLogger(config, `clients-test-${client}`);
  const transport =
    client === 'platformatic'
      ? platformaticTransport(config, log)
      : kafkajsTransport(createKafka(config, log).producer(producerConfig));
  const producer = createRecordProducer(config, { log, transport });
  open.push(producer);
  return producer;
}

interface Read {
  key: string | null;
  value: string | null;
  partition: number;
  offset: number;
  headers: Record<string, string>;
}

/** Every record of the topic, read with kafkajs from the beginning up to the end offsets of now. */
async function readAll(topic: string): Promise<Read[]> {
  const kafka = createKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, Number(high)]));
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `clients-test-${Date.now()}-${Math.random()}` });
  const records: Read[] = [];
  const seen = new Map<number, number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const done = () => [...ends].every(([partition, end]) => end === 0 || (seen.get(partition) ?? -1) >= end - 1);
      const timer = setTimeout(() => reject(new Error(`read ${records.length} records before the timeout`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
            records.push({
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              partition,
              offset: Number(message.offset),
              headers,
            });
            seen.set(partition, Number(message.offset));
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

describe('the two Kafka clients behind the record producer', () => {
  it('put each key on the same partition, and keep headers, null values and order per key', async () => {
    const keys = Array.from({ length: 300 }, (_, index) => `request-${index}-${(index * 7919) % 1000}`);
    const batch = (client: string): EncodedRecord[] =>
      keys.flatMap((key) => [
        { topic: 'clients-check', key, value: Buffer.from(`${client}:1`), headers: { client, trace: `t-${key}` } },
        { topic: 'clients-check', key, value: Buffer.from(`${client}:2`), headers: { client } },
      ]);
    await producerWith('platformatic').sendEncoded(batch('platformatic'));
    await producerWith('kafkajs').sendEncoded(batch('kafkajs'));
    await producerWith('platformatic').sendEncoded([{ topic: 'clients-check', key: 'tombstone', value: null }]);

    const records = await readAll(topicName(config, 'clients-check'));
    const partitionOf = new Map<string, Set<number>>();
    for (const record of records) {
      const key = `${record.key}`;
      partitionOf.set(key, (partitionOf.get(key) ?? new Set()).add(record.partition));
    }
    for (const key of keys) expect([...(partitionOf.get(key) ?? [])], key).toHaveLength(1);
    // Not every key on one partition: the keys really were spread.
    expect(new Set(records.map((record) => record.partition)).size).toBe(partitions);

    const first = records.find((record) => record.key === keys[0] && record.value === 'platformatic:1');
    expect(first?.headers).toEqual({ client: 'platformatic', trace: `t-${keys[0]}` });
    for (const key of keys.slice(0, 20)) {
      const values = records
        .filter((record) => record.key === key)
        .sort((a, b) => a.offset - b.offset)
        .map((record) => record.value);
      expect(values).toEqual(['platformatic:1', 'platformatic:2', 'kafkajs:1', 'kafkajs:2']);
    }
    const tombstone = records.find((record) => record.key === 'tombstone');
    expect(tombstone).toMatchObject({ key: 'tombstone', value: null });
  });

  it('fails a send to a topic that does not exist (topics are never created by producing)', async () => {
    const producer = producerWith('platformatic');
    await expect(
      producer.sendEncoded([{ topic: 'never-created', key: 'k', value: Buffer.from('v') }]),
    ).rejects.toThrow();
  }, 90_000);
});
