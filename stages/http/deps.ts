import { createVerifier } from '../../pipeline/auth/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config, HttpConfig } from '../../pipeline/config/index.ts';
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
  const limits = httpLimits(config.http);
  const events = createTopicProducer<DeliveryEvent>(config, 'events', { serde, publisher });
  const deps: AppDeps = {
    log,
    verifier: createVerifier(config),
    threads: cacheThreads(createThreadStore(cassandra), { ttlMs: config.http.threadCacheTtlMs }),
    users: createUserStore(cassandra),
    messages: createMessageStore(cassandra),
    idempotency: createIdempotencyStore(cassandra, { ttlSeconds: config.http.idempotencyTtlSeconds }),
    ingest: createTopicProducer<IngestRequestInput>(config, 'ingest', { serde, publisher }),
    audience: createTopicProducer<AudienceChangeInput>(config, 'audience', { serde, publisher }),
    acks: createTopicProducer<Acknowledgement>(config, 'acks', { serde, publisher }),
    scheduled: createCanceller({
      schedule: createScheduleStore(cassandra),
      events: eventSink(events, limits.dependencyTimeoutMs),
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
    limits,
    ...overrides,
  };
  return {
    ...deps,
    async close() {
      await Promise.allSettled([publisher.close(), cassandra.shutdown()]);
    },
  };
}

/** The facade's limits and windows, from its own config slice. */
export function httpLimits(http: HttpConfig): AppDeps['limits'] {
  return {
    bodyLimitBytes: http.bodyLimitBytes,
    messageMaxBytes: http.messageMaxBytes,
    dependencyTimeoutMs: http.dependencyTimeoutMs,
    timestampPastMs: http.timestampPastMs,
    clockSkewMs: http.clockSkewMs,
    ackDeliveryWaitMs: http.ackDeliveryWaitMs,
    rate: http.rate,
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
