import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { type TopicWatch, watchTopic } from '../../../bench/harness/topics.ts';
import { createCassandra, migrate } from '../../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../../pipeline/config/index.ts';
import { createKafka, createRecordProducer } from '../../../pipeline/kafka/index.ts';
import { createLogger } from '../../../pipeline/log/index.ts';
import { type AnyStageDefinition, type RunningStages, runStages } from '../../../pipeline/runtime/index.ts';
import { createSerde } from '../../../pipeline/serde/index.ts';
import { createUserStore, type UserStore } from '../../../pipeline/store/user.ts';
import { ensureTopics } from '../../../pipeline/topics/index.ts';
import type { AudienceChange, DeliveryBatch, DeliveryEvent } from '../../../schemas/types.generated.ts';

/**
 * One world per SMS/e-mail test file on the real servers: its own topic prefix, Cassandra keyspace
 * (migrated), the channel's stage running, a producer for its input and watches on `events` and `audience`.
 */

export interface MessagingWorld {
  config: Config;
  users: UserStore;
  events: TopicWatch<DeliveryEvent>;
  audience: TopicWatch<AudienceChange>;
  run(stage: AnyStageDefinition): Promise<RunningStages>;
  publish(topic: 'deliver.sms' | 'deliver.email', batch: DeliveryBatch): Promise<void>;
  drop(): Promise<void>;
}

export async function createMessagingWorld(extra: Record<string, string>): Promise<MessagingWorld> {
  const suffix = randomBytes(4).toString('hex');
  const config = parseConfig({
    ...process.env,
    MSGXC_ENV: 'test',
    MSGXC_LOG_LEVEL: process.env.MSGXC_LOG_LEVEL ?? 'warn',
    MSGXC_TOPIC_PREFIX: `t-msg-${suffix}.`,
    MSGXC_KAFKA_CLIENT_ID: `msgxc-msg-${suffix}`,
    MSGXC_CASSANDRA_KEYSPACE: `msg_${suffix}`,
    MSGXC_RUNTIME_SESSION_TIMEOUT_MS: '10000',
    MSGXC_RUNTIME_HEARTBEAT_MS: '1000',
    MSGXC_RUNTIME_MAX_WAIT_MS: '250',
    MSGXC_DELIVERY_RETRY_BASE_MS: '200',
    MSGXC_DELIVERY_RETRY_MAX_MS: '2000',
    ...extra,
  });
  const log = createLogger(config, 'messaging-test');
  const stagesTopics = ['deliver.sms', 'deliver.email'].flatMap((name) => [
    name,
    `${name}.urgent`,
    `${name}.retry`,
    `${name}.dlq`,
  ]);
  await ensureTopics(config, ['events', 'audience', ...stagesTopics], { log });
  await retryOutage(() => migrate(config, { log }));
  const cassandra = createCassandra(config);
  const publisher = createRecordProducer(config, { codec: createSerde(config), log });
  const producers = {
    'deliver.sms': publisher.topic('deliver.sms'),
    'deliver.email': publisher.topic('deliver.email'),
  };
  const events = await watchTopic<DeliveryEvent>(config, 'events');
  const audience = await watchTopic<AudienceChange>(config, 'audience');
  const running: RunningStages[] = [];
  return {
    config,
    users: createUserStore(cassandra),
    events,
    audience,
    async run(stage) {
      const started = await runStages(config, [stage], { registry: new Registry(), log });
      running.push(started);
      return started;
    },
    async publish(topic, batch) {
      const producer = producers[topic];
      await producer.send([await producer.prepare(batch, batch.batchId)]);
    },
    async drop() {
      await Promise.allSettled(running.map((stage) => stage.stop('test done')));
      await Promise.allSettled([events.stop(), audience.stop(), publisher.close()]);
      const admin = createKafka(config, log).admin();
      await admin.connect();
      try {
        const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine });
      } finally {
        await admin.disconnect();
      }
      await retryOutage(() => cassandra.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`));
      await cassandra.shutdown();
    },
  };
}

/**
 * Schema changes on the shared Cassandra time out while other engineers' suites hammer it; they are
 * idempotent (IF NOT EXISTS), so an outage is retried a few times before the test fails.
 */
export async function retryOutage<T>(call: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const { code, name } = error as { code?: string; name?: string };
      const outage =
        code === 'CASSANDRA_UNAVAILABLE' || name === 'OperationTimedOutError' || name === 'NoHostAvailableError';
      if (attempt >= attempts || !outage) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5_000 * attempt));
    }
  }
}

/** Polls until `check` returns a value (or throws the last error after `timeoutMs`). */
export async function eventually<T>(
  label: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
