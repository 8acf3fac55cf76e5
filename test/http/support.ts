import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { signDevelopmentToken } from '../../pipeline/auth/sign.ts';
import { createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { retryTransient } from '../../pipeline/kafka/index.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { ensureTopics, topicName } from '../../pipeline/topics/index.ts';
import { createApp } from '../../stages/http/app.ts';
import { createDeps, type RealDeps } from '../../stages/http/deps.ts';
import type { AppDeps } from '../../stages/http/ports.ts';

/**
 * One facade per test file, on the real servers: its own keyspace (migrated), its own topic prefix
 * (ingest, audience, acks and events created), its own metrics registry. Requests go through
 * `app.request`, the whole Hono stack without a socket; tests that need a socket start one with `startHttp`.
 */

export const jwtSecret = 'http-tests-secret-that-is-long-enough-for-hs256';
export const receiverHost = '127.0.0.1:4443';

export function httpTestConfig(extra: Record<string, string> = {}): Config {
  const suffix = randomBytes(4).toString('hex');
  return parseConfig({
    ...process.env,
    MSGXC_CASSANDRA_KEYSPACE: `http_${suffix}`,
    MSGXC_TOPIC_PREFIX: `http-${suffix}.`,
    MSGXC_JWT_SECRET: jwtSecret,
    MSGXC_WEBPUSH_ALLOWED_HOSTS: receiverHost,
    MSGXC_LOG_LEVEL: process.env.MSGXC_LOG_LEVEL ?? 'warn',
    // Tests fire requests as fast as they can from one user; the rate limits have their own test.
    MSGXC_HTTP_RATE_USER_PER_SECOND: '0',
    MSGXC_HTTP_RATE_TOKEN_PER_SECOND: '0',
    MSGXC_HTTP_RATE_THREAD_PER_MINUTE: '0',
    ...extra,
  });
}

export interface Harness {
  config: Config;
  deps: RealDeps;
  app: ReturnType<typeof createApp>;
  request(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/** Creates the keyspace and the facade's topics (and `extraTopics`, e.g. a stage's), and the app over them. */
export async function createHarness(
  extra: Record<string, string> = {},
  overrides: Partial<AppDeps> = {},
  extraTopics: string[] = [],
): Promise<Harness> {
  const config = httpTestConfig(extra);
  await migrate(config);
  await ensureTopics(config, ['ingest', 'audience', 'acks', 'events', ...extraTopics]);
  return harnessOver(config, overrides);
}

/** Another app over an existing keyspace and topics (e.g. pointed through a proxy). */
export function harnessOver(config: Config, overrides: Partial<AppDeps> = {}): Harness {
  const deps = createDeps(config, { registry: new Registry(), ...overrides });
  const app = createApp(deps);
  return {
    config,
    deps,
    app,
    request: async (path, init = {}) => {
      const { token, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined && token !== null) headers.set('authorization', `Bearer ${token}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return app.request(path, {
        ...rest,
        headers,
        ...(json !== undefined && { method: rest.method ?? 'POST', body: JSON.stringify(json) }),
      });
    },
    close: () => deps.close(),
  };
}

/** Drops what a harness created: its keyspace and topics. */
export async function dropTestData(config: Config): Promise<void> {
  const client = createCassandra(config, { keyspace: 'system' });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`);
  } finally {
    await client.shutdown();
  }
  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    const prefix = `${config.kafka.topicPrefix}msgxc.`;
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
  await deleteSubjects(config);
}

/** Removes the registry subjects of a test's topics (soft, then for good). */
export async function deleteSubjects(config: Config): Promise<void> {
  const prefix = `${config.kafka.topicPrefix}msgxc.`;
  const subjects = (await (await fetch(`${config.registry.url}/subjects`)).json()) as string[];
  for (const subject of subjects.filter((name) => name.startsWith(prefix))) {
    const url = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
    await (await fetch(url, { method: 'DELETE' })).body?.cancel();
    await (await fetch(`${url}?permanent=true`, { method: 'DELETE' })).body?.cancel();
  }
}

const kafkaFor = (config: Config) =>
  new Kafka({ brokers: config.kafka.brokers, clientId: 'http-tests', logLevel: logLevel.NOTHING });

export interface TokenOptions {
  sub?: string;
  roles?: string[];
  expiresIn?: string | number;
  secret?: string;
  claims?: Record<string, unknown>;
}

export async function token(options: TokenOptions = {}): Promise<string> {
  return signDevelopmentToken({
    secret: options.secret ?? jwtSecret,
    sub: options.sub ?? 'user-1',
    roles: options.roles ?? [],
    claims: options.claims,
    expiresIn: options.expiresIn ?? '10m',
  });
}

export const adminToken = (sub = 'admin-1') => token({ sub, roles: ['admin'] });

export interface ConsumedRecord {
  key: string | null;
  value: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * Reads a logical topic from the beginning, decoding each record through the registry, until `done`
 * holds for what was read (or the timeout passes, which fails the test with what was seen). Without
 * `done`, reads everything the topic held when the call started (every partition up to its end), which is
 * what "nothing else was written" needs: records of different keys sit on different partitions.
 */
export async function consume(
  config: Config,
  logical: string,
  done?: (records: ConsumedRecord[]) => boolean,
  timeoutMs = 60_000,
): Promise<ConsumedRecord[]> {
  const serde = createSerde(config);
  const kafka = kafkaFor(config);
  const topic = topicName(config, logical);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  try {
    // A topic created moments ago may not have a leader in the metadata yet ("not the leader"): wait that out.
    const offsets = await retryTransient(() => admin.fetchTopicOffsets(topic));
    for (const { partition, high } of offsets) ends.set(partition, Number(high));
  } finally {
    await admin.disconnect();
  }
  const positions = new Map<number, number>();
  const finished = (records: ConsumedRecord[]) =>
    done !== undefined
      ? done(records)
      : [...ends].every(([partition, end]) => end === 0 || (positions.get(partition) ?? -1) >= end - 1);
  const consumer = kafka.consumer({ groupId: `http-tests-${randomBytes(6).toString('hex')}` });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    if (finished(records)) return records;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out reading ${logical}; saw ${JSON.stringify(records.map((r) => r.value))}`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            positions.set(partition, Number(message.offset));
            records.push({
              key: message.key?.toString() ?? null,
              value: (await serde.decode(message.value!)) as Record<string, unknown>,
              headers: Object.fromEntries(
                Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
              ),
            });
            if (finished(records)) {
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

export const p256dh = Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString('base64url');
export const authSecret = randomBytes(16).toString('base64url');
export const webPush = (endpoint = `https://${receiverHost}/push/${randomBytes(8).toString('hex')}`) => ({
  endpoint,
  expirationTime: null,
  keys: { p256dh, auth: authSecret },
});
export const iosToken = () => randomBytes(32).toString('hex');
export const androidToken = () => `fcm:${randomBytes(24).toString('base64url')}`;
