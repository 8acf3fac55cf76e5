import { randomBytes } from 'node:crypto';
import { Client } from 'cassandra-driver';
import type { Admin, Message } from 'kafkajs';
import { pino } from 'pino';
import { clientOptions, createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import { textHeaders } from '../../pipeline/runtime/headers.ts';
import { createSerde, type Serde } from '../../pipeline/serde/index.ts';
import { ensureTopics, topicName } from '../../pipeline/topics/index.ts';

/**
 * Each flow-ingress test file gets its own topic prefix, Cassandra keyspace and registry subjects (the
 * prefix is in the subject name), created in beforeAll and removed in afterAll.
 */

export const quiet = pino({ level: 'silent' });

export const flowTopics = [
  'ingest',
  'prioritize.sightings',
  'lane.1',
  'lane.2',
  'lane.3',
  'lane.4',
  'events',
  'fanout',
  'fanout.urgent',
  'fanout.bulk',
  'messages',
];

export interface Harness {
  config: Config;
  serde: Serde;
  cassandra: Client;
  admin: Admin;
  dispose(): Promise<void>;
}

export async function createHarness(
  extra: Record<string, string> = {},
  topics: string[] = flowTopics,
): Promise<Harness> {
  const id = randomBytes(4).toString('hex');
  const config = parseConfig({
    ...process.env,
    MSGXC_ENV: 'test',
    MSGXC_LOG_LEVEL: process.env.MSGXC_LOG_LEVEL ?? 'warn',
    MSGXC_TOPIC_PREFIX: `t-fi-${id}.`,
    MSGXC_KAFKA_CLIENT_ID: `msgxc-fi-${id}`,
    MSGXC_CASSANDRA_KEYSPACE: `msgxc_fi_${id}`,
    MSGXC_RUNTIME_SESSION_TIMEOUT_MS: '10000',
    MSGXC_RUNTIME_HEARTBEAT_MS: '1000',
    MSGXC_RUNTIME_MAX_WAIT_MS: '250',
    MSGXC_RUNTIME_LAG_SAMPLE_MS: '1000',
    // Failures in these tests are permanent or not at all: no slow trip through the retry topics.
    MSGXC_RUNTIME_RETRY_BASE_MS: '50',
    MSGXC_RUNTIME_DELAYED_ATTEMPTS: '0',
    ...extra,
  });
  await migrate(config, { log: quiet });
  await ensureTopics(config, topics, { log: quiet });
  const cassandra = createCassandra(config);
  await cassandra.connect();
  const admin = createKafka(config, quiet).admin();
  await admin.connect();
  return {
    config,
    serde: createSerde(config),
    cassandra,
    admin,
    async dispose() {
      await cassandra.shutdown();
      const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 60_000 });
      await admin.disconnect();
      const system = new Client(clientOptions(config, null));
      try {
        await system.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`, [], { prepare: false });
      } finally {
        await system.shutdown();
      }
      await deleteSubjects(config);
    },
  };
}

async function deleteSubjects(config: Config): Promise<void> {
  const response = await fetch(`${config.registry.url}/subjects`);
  if (!response.ok) return;
  const subjects = (await response.json()) as string[];
  for (const subject of subjects.filter((name) => name.startsWith(config.kafka.topicPrefix))) {
    const url = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
    await fetch(url, { method: 'DELETE' });
    await fetch(`${url}?permanent=true`, { method: 'DELETE' });
  }
}

/**
 * Creates topics outside the topology table (e.g. the per-lane `triage.lane<N>.dlq`) before a stage does, and
 * waits until the broker serves their metadata: right after a create, a metadata request can still answer
 * UNKNOWN_TOPIC_OR_PARTITION, which kafkajs's `waitForLeaders` does not retry.
 */
export async function createRawTopics(harness: Harness, logicals: string[], partitions = 3): Promise<void> {
  const topics = logicals.map((logical) => topicName(harness.config, logical));
  await harness.admin.createTopics({
    waitForLeaders: false,
    topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const { topics: metadata } = await harness.admin.fetchTopicMetadata({ topics });
      if (
        metadata.every(
          (topic) => topic.partitions.length === partitions && topic.partitions.every((p) => p.leader >= 0),
        )
      )
        return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders yet`);
    await sleep(100);
  }
}

/** Encodes values through the registry and produces them in batches of 1000 (never one send per record). */
export async function produceValues(
  harness: Harness,
  logical: string,
  values: { key: string | null; value: unknown }[],
): Promise<void> {
  const producer = createKafka(harness.config, quiet).producer(producerConfig);
  await producer.connect();
  try {
    for (let start = 0; start < values.length; start += 1000) {
      const messages: Message[] = await Promise.all(
        values.slice(start, start + 1000).map(async ({ key, value }) => ({
          key,
          value: await harness.serde.encode(logical, value),
        })),
      );
      await producer.send({ topic: topicName(harness.config, logical), acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface Seen {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/**
 * A live reader of one topic from the beginning: collects every record, so a test can wait for what it
 * expects and later assert what did NOT arrive.
 */
export async function watchTopic(harness: Harness, logical: string) {
  const consumer = createKafka(harness.config, quiet).consumer({
    groupId: `${harness.config.kafka.topicPrefix}watch-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  const seen: Seen[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topicName(harness.config, logical)], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        seen.push({
          key: message.key?.toString('utf8') ?? null,
          value: message.value,
          headers: textHeaders(message.headers),
          partition: batch.partition,
          offset: message.offset,
        });
      }
    },
  });
  return {
    seen,
    async decoded<T>(): Promise<T[]> {
      return Promise.all(seen.map(async (record) => (await harness.serde.decode(record.value as Buffer)) as T));
    },
    /** Waits until `check` over the records so far returns something other than undefined. */
    async until<T>(check: (records: Seen[]) => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await check(seen);
        if (result !== undefined) return result;
        if (Date.now() > deadline) throw new Error(`${logical}: expected records did not arrive (${seen.length} seen)`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop: () => consumer.disconnect(),
  };
}

export type Watch = Awaited<ReturnType<typeof watchTopic>>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
