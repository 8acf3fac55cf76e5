import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import {
  createKafka,
  createRecordProducer,
  type EncodedRecord,
  kafkajsTransport,
  platformaticTransport,
  producerConfig,
  type RecordProducer,
} from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import {
  createTopics,
  deleteTestTopics,
  type ReadRecord,
  readTopic,
  testConfig,
  topicSize,
} from '../runtime/support.ts';

/**
 * The stages produce with `@platformatic/kafka`, the facade and every consumer with kafkajs: on the real broker,
 * a key lands on the partition kafkajs (and the Java client) would put it on, and records keep their keys,
 * headers, nulls and order. `npm run bench -- api clients` runs the facade on `@platformatic/kafka` in its
 * `request` settings; they are checked here too.
 */

const partitions = 7;
let config: Config;
const open: RecordProducer[] = [];

beforeAll(async () => {
  config = testConfig();
  await createTopics(config, { 'clients-check': partitions });
});

afterAll(async () => {
  await Promise.allSettled(open.map((producer) => producer.close()));
  if (config) await deleteTestTopics(config);
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

const text = (record: ReadRecord) => record.value?.toString() ?? null;

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

    const total = await topicSize(config, 'clients-check');
    const records = await readTopic(config, 'clients-check', (read) => read.length >= total);
    const partitionOf = new Map<string, Set<number>>();
    for (const record of records) {
      const key = `${record.key}`;
      partitionOf.set(key, (partitionOf.get(key) ?? new Set()).add(record.partition));
    }
    for (const key of keys) expect([...(partitionOf.get(key) ?? [])], key).toHaveLength(1);
    // Not every key on one partition: the keys really were spread.
    expect(new Set(records.map((record) => record.partition)).size).toBe(partitions);

    const first = records.find((record) => record.key === keys[0] && text(record) === 'platformatic:1');
    expect(first?.headers).toEqual({ client: 'platformatic', trace: `t-${keys[0]}` });
    for (const key of keys.slice(0, 20)) {
      const values = records
        .filter((record) => record.key === key)
        .sort((a, b) => Number(a.offset) - Number(b.offset))
        .map(text);
      expect(values).toEqual(['platformatic:1', 'platformatic:2', 'kafkajs:1', 'kafkajs:2']);
    }
    const tombstone = records.find((record) => record.key === 'tombstone');
    expect(tombstone).toMatchObject({ key: 'tombstone', value: null });
    expect(records).toHaveLength(keys.length * 4 + 1);
  });

  it('fails a send to a topic that does not exist (topics are never created by producing)', async () => {
    const producer = producerWith('platformatic');
    await expect(
      producer.sendEncoded([{ topic: 'never-created', key: 'k', value: Buffer.from('v') }]),
    ).rejects.toThrow();
  }, 90_000);

  it("in the request profile's settings, settles concurrent callers once acknowledged, and answers KAFKA_UNAVAILABLE without a broker", async () => {
    const log = createLogger(config, 'clients-test-request');
    const producer = createRecordProducer(config, {
      log,
      profile: 'request',
      transport: platformaticTransport(config, log, 'request'),
    });
    open.push(producer);
    const keys = Array.from({ length: 40 }, (_, index) => `waiting-${index}`);
    await Promise.all(
      keys.map((key) => producer.sendEncoded([{ topic: 'clients-check', key, value: Buffer.from(key) }])),
    );
    const total = await topicSize(config, 'clients-check');
    const read = await readTopic(config, 'clients-check', (records) => records.length >= total);
    const written = read.filter((record) => `${record.key}`.startsWith('waiting-'));
    expect(written.map((record) => record.key).sort()).toEqual([...keys].sort());

    const nowhere: Config = { ...config, kafka: { ...config.kafka, brokers: ['127.0.0.1:1'] } };
    const unreachable = createRecordProducer(nowhere, {
      log,
      profile: 'request',
      transport: platformaticTransport(nowhere, log, 'request'),
    });
    open.push(unreachable);
    await expect(
      unreachable.sendEncoded([{ topic: 'clients-check', key: 'k', value: Buffer.from('v') }]),
    ).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE', status: 503, retriable: true });
  }, 60_000);
});
