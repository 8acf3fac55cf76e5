import { randomBytes } from 'node:crypto';
import type { Admin, IHeaders } from 'kafkajs';
import type { Registry } from 'prom-client';
import { afterEach } from 'vitest';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { createKafka, createTopicsIfMissing, producerConfig } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { textHeaders } from '../../pipeline/runtime/headers.ts';
import { jsonCodec, type RunningStages } from '../../pipeline/runtime/index.ts';
import { groupIdFor, kafkaTopicName } from '../../pipeline/runtime/names.ts';

/** A configuration whose topics and consumer groups no other test (or engineer) shares. */
export function testConfig(extra: Record<string, string> = {}): Config {
  return parseConfig(testEnv(extra));
}

/** The environment behind `testConfig`, for child processes that must see the same topics. */
export function testEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const prefix = `t-rt-${randomBytes(4).toString('hex')}.`;
  return {
    ...process.env,
    MSGXC_ENV: 'test',
    MSGXC_LOG_LEVEL: 'warn',
    MSGXC_TOPIC_PREFIX: prefix,
    MSGXC_KAFKA_CLIENT_ID: `msgxc-test-${prefix}`,
    MSGXC_RUNTIME_SESSION_TIMEOUT_MS: '10000',
    MSGXC_RUNTIME_HEARTBEAT_MS: '1000',
    MSGXC_RUNTIME_MAX_WAIT_MS: '250',
    MSGXC_RUNTIME_LAG_SAMPLE_MS: '1000',
    ...extra,
  };
}

export async function withAdmin<T>(config: Config, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(config, createLogger(config, 'test')).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates the topics and waits for their leaders, riding out KRaft's "unknown topic" right after creation. */
export async function createTopics(config: Config, topics: Record<string, number>): Promise<void> {
  await withAdmin(config, (admin) =>
    createTopicsIfMissing(
      admin,
      Object.entries(topics).map(([logical, partitions]) => ({
        topic: kafkaTopicName(config, logical),
        partitions,
        retentionMs: 3_600_000,
      })),
    ),
  );
}

/** Deletes every topic this test configuration created (its prefix is unique). */
export async function deleteTestTopics(config: Config): Promise<void> {
  await withAdmin(config, async (admin) => {
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  });
}

export interface RawOut {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export async function produce(config: Config, logical: string, messages: RawOut[]): Promise<void> {
  const producer = createKafka(config, createLogger(config, 'test')).producer(producerConfig);
  await producer.connect();
  try {
    await producer.send({ topic: kafkaTopicName(config, logical), acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Produces one JSON `{ id }` record per id, keyed by it. */
export async function produceIds(config: Config, logical: string, ids: string[]): Promise<void> {
  const messages = await Promise.all(
    ids.map(async (id) => ({ key: Buffer.from(id), value: await jsonCodec.encode(logical, { id }), headers: {} })),
  );
  await produce(config, logical, messages);
}

/** The sum of a metric's values over the series whose labels match `labels`. */
export async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((item) => item.name === name);
  const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((value) => Object.entries(labels).every(([label, wanted]) => String(value.labels[label]) === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}

/** What a test started: stopped, and its topics deleted, after each test of the file that asked for it. */
export interface StagesUnderTest {
  running?: RunningStages | undefined;
  config?: Config | undefined;
}

export function stagesUnderTest(): StagesUnderTest {
  const current: StagesUnderTest = {};
  afterEach(async () => {
    await current.running?.stop('test over');
    current.running = undefined;
    if (current.config) await deleteTestTopics(current.config);
    current.config = undefined;
  });
  return current;
}

/** The offset a shared stage's group committed on partition 0 of an input topic; -1 while none is. */
export async function committedOffset(config: Config, stage: string, logical: string): Promise<number> {
  const groupId = groupIdFor(config, stage, 'shared', '');
  return withAdmin(config, async (admin) => {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [kafkaTopicName(config, logical)] });
    return Number(entry?.partitions.find((item) => item.partition === 0)?.offset ?? -1);
  });
}

/** Records in a topic: the sum of its partitions' high watermarks. */
export async function topicSize(config: Config, logical: string): Promise<number> {
  return withAdmin(config, async (admin) =>
    (await admin.fetchTopicOffsets(kafkaTopicName(config, logical))).reduce((sum, mark) => sum + Number(mark.high), 0),
  );
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads a topic from the beginning with a throw-away group until `enough` says so (or the wait runs out). */
export async function readTopic(
  config: Config,
  logical: string,
  enough: (records: ReadRecord[]) => boolean,
  timeoutMs = 60_000,
): Promise<ReadRecord[]> {
  const kafka = createKafka(config, createLogger(config, 'test'));
  const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}reader-${randomBytes(4).toString('hex')}` });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [kafkaTopicName(config, logical)], fromBeginning: true });
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finished = resolve;
    });
    if (enough(records)) finished();
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          value: message.value,
          headers: textHeaders(message.headers),
        });
        if (enough(records)) finished();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([done.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      throw new Error(`read ${records.length} records from ${logical} without reaching the expected state`);
    }
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** Polls `check` until it returns a value (not undefined) or the wait runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  label = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
