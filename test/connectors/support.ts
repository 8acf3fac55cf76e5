import { randomBytes, randomUUID } from 'node:crypto';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { Client } from 'cassandra-driver';
import type { KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { connectorName, loadSinks, removeConnectors, type SinkDeclaration } from '../../connectors/index.ts';
import { clientOptions, createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { isRetriable } from '../../pipeline/errors/index.ts';
import { createKafka, createTopicsIfMissing, producerConfig } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { createSerde, type Serde } from '../../pipeline/serde/index.ts';
import { createRegistryClient, subjectOf } from '../../pipeline/serde/registry.ts';
import { topicName } from '../../pipeline/topics/topology.ts';
import { schemaJson } from '../../schemas/index.ts';
import { buildDeliveryEvent, type DeliveryEvent } from '../../schemas/types.generated.ts';

const quiet = pino({ level: 'silent' });
export const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/** Topics, connectors, consumer groups and a keyspace that belong to this test file only. */
export interface SinkFixture {
  config: Config;
  client: Client;
  serde: Serde;
  sinks: SinkDeclaration[];
  produce(logical: 'events' | 'messages', values: { key: string; value: Buffer }[]): Promise<void>;
  dispose(): Promise<void>;
}

export function sinkTestConfig(extra: Record<string, string> = {}): Config {
  const id = randomBytes(4).toString('hex');
  return parseConfig({
    ...process.env,
    MSGXC_ENV: 'test',
    MSGXC_LOG_LEVEL: 'warn',
    MSGXC_TOPIC_PREFIX: `t-cx-${id}.`,
    MSGXC_KAFKA_CLIENT_ID: `msgxc-test-cx-${id}`,
    MSGXC_CASSANDRA_KEYSPACE: `msgxc_test_cx_${id}`,
    ...extra,
  });
}

export async function createSinkFixture(config = sinkTestConfig()): Promise<SinkFixture> {
  await migrateRidingOutLoad(config);
  const kafka = createKafka(config, createLogger(config, 'test'));
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsIfMissing(admin, [
    { topic: topicName(config, 'events'), partitions: 3, retentionMs: 3_600_000 },
    { topic: topicName(config, 'messages'), partitions: 2, retentionMs: 3_600_000 },
  ]);
  await admin.disconnect();
  const producer = kafka.producer(producerConfig);
  await producer.connect();
  const client = createCassandra(config);
  await client.connect();
  return {
    config,
    client,
    serde: createSerde(config),
    sinks: loadSinks(),
    async produce(logical, values) {
      await producer.send({ topic: topicName(config, logical), acks: -1, messages: values });
    },
    async dispose() {
      await removeConnectors(config).catch(() => undefined);
      await producer.disconnect();
      await client.shutdown();
      const drop = new Client(clientOptions(config, null));
      // Dropping a keyspace waits for schema agreement: slow on a busy shared node, not a failure.
      await drop.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`, [], { readTimeout: 120_000 });
      await drop.shutdown();
      const cleanup = kafka.admin();
      await cleanup.connect();
      const mine = (await cleanup.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
      if (mine.length > 0) await cleanup.deleteTopics({ topics: mine });
      await cleanup.disconnect();
    },
  };
}

export const sinkNamed = (fixture: SinkFixture, name: string) => {
  const sink = fixture.sinks.find((candidate) => candidate.name === name);
  if (!sink) throw new Error(`no sink ${name}`);
  return sink;
};

/**
 * The shared Cassandra node is busy (eight engineers, two cores): a schema change can outlast the
 * driver's read timeout. Migrations are idempotent, so a retriable failure is simply tried again.
 */
async function migrateRidingOutLoad(config: Config): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await migrate(config, { log: quiet });
      return;
    } catch (error) {
      if (attempt >= 3 || !isRetriable(error)) throw error;
      await sleep(5000);
    }
  }
}

let counter = 0;
/** A delivery event with every field the tables have, at a fixed instant plus `offsetMs`. */
export function sampleEvent(overrides: Partial<DeliveryEvent> = {}): DeliveryEvent {
  counter += 1;
  return buildDeliveryEvent({
    eventId: `ev-${randomUUID()}`,
    type: 'delivered',
    at: Date.UTC(2026, 2, 4, 5, 6, 7, counter % 1000),
    messageId: `m-${counter % 7}`,
    requestId: 'r-1',
    deliveryId: `d-${counter}`,
    uid: `u-${counter % 5}`,
    tid: 't-1',
    channel: 'sms',
    deviceId: 'dev-1',
    urgency: 3,
    experimentId: 'exp-1',
    variant: 'B',
    source: 'deliver.sms',
    provider: 'twilio',
    providerCode: '200',
    latencyMs: 42,
    segments: 2,
    attempt: 0,
    ...overrides,
  });
}

/**
 * The first version of DeliveryEvent, before the provider outcome fields: records written with it
 * are still on the topic when the connector starts, and must land with those columns null.
 */
export async function registerEventSchemaV1(config: Config): Promise<{ id: number; type: avro.Type }> {
  const current = JSON.parse(schemaJson('dev.msgxc.DeliveryEvent')) as { fields: { name: string }[] };
  const newer = new Set(['provider', 'providerCode', 'latencyMs', 'segments']);
  const v1 = { ...current, fields: current.fields.filter((field) => !newer.has(field.name)) };
  const registry = createRegistryClient(config);
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v1) },
    { subject: subjectOf(topicName(config, 'events')) },
  );
  return { id, type: avro.Type.forSchema(v1 as avro.Schema, { logicalTypes: {} }) };
}

/** Confluent framing by hand, for the older schema version the serde no longer writes. */
export function frame(id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, payload]);
}

/** Polls until `probe` returns a value; the deadline only bounds a hang, it is not what the test checks. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

export async function countRows(client: Client, cql: string, params: unknown[] = []): Promise<number> {
  const result = await client.execute(cql, params, { prepare: true, fetchSize: 5000 });
  let rows = result.rows.length;
  let page = result.pageState;
  while (page) {
    const next = await client.execute(cql, params, { prepare: true, fetchSize: 5000, pageState: page });
    rows += next.rows.length;
    page = next.pageState;
  }
  return rows;
}

/** Every record on a topic, read from the beginning by a throw-away consumer group. */
export async function readTopic(config: Config, topic: string, expected: number): Promise<KafkaMessage[]> {
  const kafka = createKafka(config, createLogger(config, 'test'));
  const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}reader-${randomUUID()}` });
  await consumer.connect();
  const seen: KafkaMessage[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
    await eventually(async () => (seen.length >= expected ? true : undefined), `${expected} records on ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

export const connectorOf = (fixture: SinkFixture, name: string) =>
  connectorName(fixture.config, sinkNamed(fixture, name));
