import { randomBytes } from 'node:crypto';
import { types } from 'cassandra-driver';
import { Registry } from 'prom-client';
import { readAll } from '../../bench/harness/topics.ts';
import { type AudienceIndex, createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import type { AudienceSnapshot } from '../../pipeline/audience-index/types.ts';
import { createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { createKafka, createRecordProducer, groupLag, type RecordProducer } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { type RunningStages, runStages, type StageDefinition } from '../../pipeline/runtime/index.ts';
import { ensureTopics, topicName } from '../../pipeline/topics/index.ts';
import { deliveryTopics } from '../../pipeline/topics/lanes.ts';
import type { Device, FanoutJob } from '../../schemas/types.generated.ts';

/**
 * One world per test file on the real servers: its own topic prefix (and so consumer groups), Cassandra
 * keyspace (migrated) and audience index prefix. `drop` removes all three.
 */

export const jwtSecret = 'flow-egress-tests-secret-long-enough-for-hs256';

export function flowConfig(extra: Record<string, string> = {}): Config {
  const suffix = randomBytes(4).toString('hex');
  return parseConfig({
    ...process.env,
    MSGXC_ENV: 'test',
    MSGXC_LOG_LEVEL: process.env.MSGXC_LOG_LEVEL ?? 'warn',
    MSGXC_TOPIC_PREFIX: `t-fe-${suffix}.`,
    MSGXC_KAFKA_CLIENT_ID: `msgxc-fe-${suffix}`,
    MSGXC_CASSANDRA_KEYSPACE: `fe_${suffix}`,
    MSGXC_SEARCH_INDEX_PREFIX: `fe-${suffix}`,
    MSGXC_JWT_SECRET: jwtSecret,
    MSGXC_RUNTIME_SESSION_TIMEOUT_MS: '10000',
    MSGXC_RUNTIME_HEARTBEAT_MS: '1000',
    MSGXC_RUNTIME_MAX_WAIT_MS: '250',
    MSGXC_RUNTIME_LAG_SAMPLE_MS: '1000',
    ...extra,
  });
}

export const flowTopics = [
  'fanout',
  'events',
  'acks',
  'checkins',
  ...['ws', 'webpush', 'apns', 'fcm', 'sms', 'email'].flatMap(deliveryTopics),
];

export interface World {
  config: Config;
  index: AudienceIndex;
  /** Produces records as a stage would (Avro through the registry), acknowledged when it resolves. */
  emitter: { emit: RecordProducer['send']; close(): Promise<void> };
  /** Runs stages until `drop`. */
  // biome-ignore lint/suspicious/noExplicitAny: stages of different record and dependency types run together, as in stages/index.ts.
  run(stages: StageDefinition<any, any>[]): Promise<RunningStages>;
  /** Indexes users and makes them searchable. */
  users(snapshots: AudienceSnapshot[]): Promise<void>;
  /** Resolves once the stage's consumer group has committed everything on its input topics. */
  drained(stage: string, inputs: string[], timeoutMs?: number): Promise<void>;
  drop(): Promise<void>;
}

export async function createWorld(
  extra: Record<string, string> = {},
  options: { cassandra?: boolean } = {},
): Promise<World> {
  const config = flowConfig(extra);
  const log = createLogger(config, 'flow-egress-test');
  // The stages' retry and dead-letter topics too: the runtime creates missing ones with kafkajs's
  // waitForLeaders, which fails on KRaft while metadata propagates ("does not host this topic-partition").
  await ensureTopics(config, [...flowTopics, 'fanout.retry', 'fanout.dlq', 'ack.retry', 'ack.dlq'], { log });
  if (options.cassandra !== false) await migrate(config, { log });
  const index = createAudienceIndex(config, { log });
  await index.ensureIndex();
  const producer = createRecordProducer(config, { log });
  const emitter = {
    emit: (records: Parameters<RecordProducer['send']>[0]) => producer.send(records),
    close: () => producer.close(),
  };
  const running: RunningStages[] = [];

  return {
    config,
    index,
    emitter,
    async run(stages) {
      const stage = await runStages(config, stages, { registry: new Registry(), log });
      running.push(stage);
      return stage;
    },
    async users(snapshots) {
      await index.upsertMany(snapshots);
      await index.refresh();
    },
    async drained(stage, inputs, timeoutMs = 60_000) {
      const admin = createKafka(config, log).admin();
      await admin.connect();
      try {
        const until = Date.now() + timeoutMs;
        const groupId = `${config.kafka.topicPrefix}msgxc.${stage}`;
        for (;;) {
          const lag = await groupLag(
            admin,
            groupId,
            inputs.map((name) => topicName(config, name)),
          );
          const committed = await admin.fetchOffsets({
            groupId,
            topics: inputs.map((name) => topicName(config, name)),
          });
          const started = committed.some(({ partitions }) =>
            partitions.some((partition) => Number(partition.offset) >= 0),
          );
          if (started && lag.every((row) => row.lag === 0)) return;
          if (Date.now() > until)
            throw new Error(`stage ${stage} did not drain within ${timeoutMs} ms: ${JSON.stringify(lag)}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      } finally {
        await admin.disconnect();
      }
    },
    async drop() {
      await Promise.allSettled(running.map((stage) => stage.stop('test done')));
      await emitter.close();
      await index.adapter.deleteIndex(`${index.alias}-v1`).catch(() => undefined);
      await index.close();
      const admin = createKafka(config, log).admin();
      await admin.connect();
      try {
        const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine });
      } finally {
        await admin.disconnect();
      }
      if (options.cassandra !== false) {
        const client = createCassandra(config, { keyspace: 'system' });
        try {
          await client.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`);
        } finally {
          await client.shutdown();
        }
      }
    },
  };
}

export interface ReadRecord<T> {
  key: string | null;
  value: T;
  headers: Record<string, string>;
}

/** Every record a logical topic holds now, decoded through the registry (the harness's reader). */
export async function readTopic<T>(config: Config, logical: string): Promise<ReadRecord<T>[]> {
  return (await readAll<T>(config, logical)).map(({ key, value, headers }) => ({ key, value, headers }));
}

export const device = {
  fcm: (id: string): Device => ({
    channel: 'fcm',
    id,
    token: `fcm-token-${id}`,
    subscription: null,
    address: null,
    platform: 'android',
  }),
  apns: (id: string): Device => ({
    channel: 'apns',
    id,
    token: `apns-token-${id}`,
    subscription: null,
    address: null,
    platform: 'ios',
  }),
  email: (id: string): Device => ({
    channel: 'email',
    id,
    token: null,
    subscription: null,
    address: `${id}@example.com`,
    platform: null,
  }),
  sms: (id: string): Device => ({
    channel: 'sms',
    id,
    token: null,
    subscription: null,
    address: '+15550100',
    platform: null,
  }),
};

export const newMessageId = () => types.TimeUuid.now().toString();

export function fanoutJob(parts: Partial<FanoutJob> = {}): FanoutJob {
  const now = Date.now();
  return {
    messageId: newMessageId(),
    requestId: `req-${randomBytes(4).toString('hex')}`,
    tid: null,
    audience: { kind: 'everyone', tid: null, uids: null, cohort: null, experimentId: null, variant: null },
    urgency: 3,
    plan: 'realtime',
    channels: ['ws', 'apns', 'fcm', 'webpush', 'email', 'sms'],
    fallbackChannels: null,
    escalateAfterMs: null,
    subject: 'Subject',
    msg: 'Hello',
    opts: null,
    data: null,
    collapseKey: null,
    expiresAt: null,
    experiment: null,
    slice: null,
    sender: { kind: 'user', id: 'sender' },
    createdAt: now,
    triagedAt: now,
    trace: null,
    ...parts,
  };
}

export const audience = {
  thread: (tid: string) => ({
    kind: 'thread' as const,
    tid,
    uids: null,
    cohort: null,
    experimentId: null,
    variant: null,
  }),
  uids: (uids: string[]) => ({
    kind: 'uids' as const,
    tid: null,
    uids,
    cohort: null,
    experimentId: null,
    variant: null,
  }),
  everyone: () => ({
    kind: 'everyone' as const,
    tid: null,
    uids: null,
    cohort: null,
    experimentId: null,
    variant: null,
  }),
  cohort: (cohort: string) => ({
    kind: 'cohort' as const,
    tid: null,
    uids: null,
    cohort,
    experimentId: null,
    variant: null,
  }),
  split: (experimentId: string, variant: string) => ({
    kind: 'split' as const,
    tid: null,
    uids: null,
    cohort: null,
    experimentId,
    variant,
  }),
};
