import { createVerifier } from '../../pipeline/auth/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config, HttpConfig } from '../../pipeline/config/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import {
  createRecordProducer,
  type ProduceTransport,
  type RecordSink,
  type TopicProducer,
} from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { registry as processRegistry } from '../../pipeline/metrics/index.ts';
import { createEndpointGuard } from '../../pipeline/net/ssrf.ts';
import { createCanceller } from '../../pipeline/schedule/cancel.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { createInboxStore } from '../../pipeline/store/inbox.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { cacheThreads } from '../../pipeline/store/thread-cache.ts';
import { createUserStore } from '../../pipeline/store/user.ts';
import type { DeliveryEventInput } from '../../schemas/index.ts';
import { dependency } from './errors.ts';
import { createIdempotencyStore } from './idempotency-store.ts';
import type { AppDeps } from './ports.ts';

/**
 * The facade's real dependencies from a config: one Cassandra client for the stores, one Kafka producer
 * (group-committing) shared by the ingest and audience topics, the registry-backed serde, the JWT
 * verifier. Nothing connects until first used, so the facade starts (and answers /healthz, and 503s with
 * Retry-After) while a dependency is still down.
 */

export interface RealDeps extends AppDeps {
  close(): Promise<void>;
}

export interface DepsOptions {
  /** The Kafka client behind the record producer (kafkajs by default); the api bench compares clients with it. */
  produceTransport?: ProduceTransport;
}

export function createDeps(config: Config, overrides: Partial<AppDeps> = {}, options: DepsOptions = {}): RealDeps {
  const log = overrides.log ?? createLogger(config, 'http');
  const cassandra = createCassandra(config);
  const producer = createRecordProducer(config, {
    profile: 'request',
    codec: createSerde(config),
    log: log.child({ component: 'kafka' }),
    ...(options.produceTransport ? { transport: options.produceTransport } : {}),
  });
  const limits = httpLimits(config.http);
  const events = producer.topic('events');
  const deps: AppDeps = {
    log,
    verifier: createVerifier(config),
    threads: cacheThreads(createThreadStore(cassandra), { ttlMs: config.http.threadCacheTtlMs }),
    users: createUserStore(cassandra),
    messages: createMessageStore(cassandra),
    inbox: createInboxStore(cassandra),
    idempotency: createIdempotencyStore(cassandra, { ttlSeconds: config.http.idempotencyTtlSeconds }),
    ingest: producer.topic('ingest'),
    audience: producer.topic('audience'),
    acks: producer.topic('acks'),
    scheduled: createCanceller({
      schedule: createScheduleStore(cassandra),
      events: eventSink(events, limits.dependencyTimeoutMs),
    }),
    probes: {
      kafka: () => producer.probe(),
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
    providers: { messaging: config.messaging, events, users: createUserStore(cassandra) },
    limits,
    ...overrides,
  };
  return {
    ...deps,
    async close() {
      await Promise.allSettled([producer.close(), cassandra.shutdown()]);
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
function eventSink(events: TopicProducer<DeliveryEventInput>, timeoutMs: number): RecordSink {
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
        Promise.all(values.map((record) => events.prepare(record.value as DeliveryEventInput, record.key ?? ''))),
      );
      await dependency('kafka', timeoutMs, () => events.send(prepared));
    },
  };
}
