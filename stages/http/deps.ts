import { createVerifier } from '../../pipeline/auth/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { createKafkaPublisher, createTopicProducer } from '../../pipeline/ingest-producer/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { registry as processRegistry } from '../../pipeline/metrics/index.ts';
import { createCanceller } from '../../pipeline/schedule/cancel.ts';
import type { RecordSink } from '../../pipeline/schedule/types.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { cacheThreads } from '../../pipeline/store/thread-cache.ts';
import { createUserStore } from '../../pipeline/store/user.ts';
import type { Acknowledgement, AudienceChangeInput, DeliveryEvent, IngestRequestInput } from '../../schemas/index.ts';
import { dependency } from './errors.ts';
import { createIdempotencyStore } from './idempotency-store.ts';
import type { AppDeps, TopicPublisher } from './ports.ts';
import { createEndpointGuard } from './ssrf.ts';

/**
 * The facade's real dependencies from a config: one Cassandra client for the stores, one Kafka producer
 * (group-committing) shared by the ingest and audience topics, the registry-backed serde, the JWT
 * verifier. Nothing connects until first used, so the facade starts (and answers /healthz, and 503s with
 * Retry-After) while a dependency is still down.
 */

export interface RealDeps extends AppDeps {
  close(): Promise<void>;
}

export function createDeps(config: Config, overrides: Partial<AppDeps> = {}): RealDeps {
  const log = overrides.log ?? createLogger(config, 'http');
  const cassandra = createCassandra(config);
  const publisher = createKafkaPublisher(config, { log: log.child({ component: 'kafka' }) });
  const serde = createSerde(config);
  const dependencyTimeoutMs = 13_000;
  const events = createTopicProducer<DeliveryEvent>(config, 'events', { serde, publisher });
  const deps: AppDeps = {
    log,
    verifier: createVerifier(config),
    threads: cacheThreads(createThreadStore(cassandra), { ttlMs: 1000 }),
    users: createUserStore(cassandra),
    messages: createMessageStore(cassandra),
    idempotency: createIdempotencyStore(cassandra, { ttlSeconds: config.http.idempotencyTtlSeconds }),
    ingest: createTopicProducer<IngestRequestInput>(config, 'ingest', { serde, publisher }),
    audience: createTopicProducer<AudienceChangeInput>(config, 'audience', { serde, publisher }),
    acks: createTopicProducer<Acknowledgement>(config, 'acks', { serde, publisher }),
    scheduled: createCanceller({
      schedule: createScheduleStore(cassandra),
      events: eventSink(events, dependencyTimeoutMs),
    }),
    probes: {
      kafka: () => publisher.probe(),
      registry: async () => {
        const response = await fetch(`${config.registry.url}/subjects`, { signal: AbortSignal.timeout(2000) });
        await response.body?.cancel();
        if (!response.ok) throw new Error(`registry answered ${response.status}`);
      },
      cassandra: async () => {
        await cassandra.execute('SELECT release_version FROM system.local');
      },
    },
    endpointGuard: createEndpointGuard({ allowedHosts: config.http.webPushAllowedHosts }),
    registry: processRegistry,
    clock: Date.now,
    limits: {
      bodyLimitBytes: config.http.bodyLimitBytes,
      messageMaxBytes: config.http.messageMaxBytes,
      // Above the Kafka publisher's give-up time (~3 s) and the Cassandra driver's read timeout (12 s), so the
      // drivers report an outage before the deadline does and a late write cannot follow a 503.
      dependencyTimeoutMs,
    },
    ...overrides,
  };
  return {
    ...deps,
    async close() {
      await Promise.allSettled([publisher.close(), cassandra.shutdown()]);
    },
  };
}

/**
 * Where the scheduler's canceller records its `cancelled` events: the facade's own producer, so cancelling
 * opens no connection of its own. Encoded first; a registry or Kafka failure reports the dependency that
 * failed (the cancel itself is already durable then, and a retry answers `changed: false`).
 */
function eventSink(events: TopicPublisher<DeliveryEvent>, timeoutMs: number): RecordSink {
  return {
    async send(records) {
      const values = records.map((record) => {
        if (record.topic !== 'events') {
          throw new MsgxcError('INTERNAL', `the canceller's sink writes events only, not ${record.topic}`, {
            status: 500,
          });
        }
        return record;
      });
      const prepared = await dependency('schema registry', timeoutMs, () =>
        Promise.all(values.map((record) => events.prepare(record.value as DeliveryEvent, record.key ?? ''))),
      );
      await dependency('kafka', timeoutMs, () => events.send(prepared));
    },
  };
}
