import { Registry } from 'prom-client';
import { createVerifier } from '../../pipeline/auth/index.ts';
import { signDevelopmentToken } from '../../pipeline/auth/sign.ts';
import { parseConfig } from '../../pipeline/config/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { createEndpointGuard } from '../../pipeline/net/ssrf.ts';
import { createApp } from '../../stages/http/app.ts';
import { noRateLimits } from '../../stages/http/middleware/rate-limit.ts';
import type { AppDeps, PreparedRecord, TopicPublisher } from '../../stages/http/ports.ts';

/**
 * Unit-test support: the facade app over in-memory dependencies, for route logic that needs no server.
 * A port a test does not replace fails loudly when called. The integration tests in test/http run the
 * same app over the real servers.
 */

export { thread } from './store.ts';

const secret = 'unit-tests-secret-that-is-long-enough-for-hs256';
export const unitConfig = parseConfig({ MSGXC_JWT_SECRET: secret, MSGXC_LOG_LEVEL: 'silent' });

export const unitToken = (uid: string, roles: string[] = []) =>
  signDevelopmentToken({ secret, sub: uid, roles, expiresIn: '5m' });

const unused = (port: string) => () => {
  throw new Error(`${port} is not used in this test`);
};

/** A topic publisher that keeps what was sent (decoded values, in order). */
export function memoryPublisher<T>(): TopicPublisher<T> & { sent: T[] } {
  const prepared = new Map<Buffer, T>();
  const sent: T[] = [];
  return {
    sent,
    async prepare(value, key) {
      const record: PreparedRecord = { key, value: Buffer.from(JSON.stringify(value)) };
      prepared.set(record.value, value);
      return record;
    },
    async send(records) {
      for (const record of records) sent.push(prepared.get(record.value) as T);
    },
  };
}

/** A publisher whose broker is down. */
export function downPublisher<T>(): TopicPublisher<T> {
  return {
    prepare: async (_value, key) => ({ key, value: Buffer.alloc(0) }),
    send: async () => {
      throw new MsgxcError('KAFKA_UNAVAILABLE', 'no broker answered', { retriable: true, status: 503 });
    },
  };
}

export function unitDeps(overrides: Partial<AppDeps> = {}): AppDeps {
  return {
    log: createLogger(unitConfig, 'http-unit'),
    verifier: createVerifier(unitConfig),
    threads: {
      getThread: unused('threads.getThread'),
      createThread: unused('threads.createThread'),
      updateThread: unused('threads.updateThread'),
      isSubscribed: unused('threads.isSubscribed'),
      subscribe: unused('threads.subscribe'),
      unsubscribe: unused('threads.unsubscribe'),
    },
    users: {
      devicesOf: unused('users.devicesOf'),
      enlistDevice: unused('users.enlistDevice'),
      removeDevice: unused('users.removeDevice'),
      preferencesOf: unused('users.preferencesOf'),
      setPreferences: unused('users.setPreferences'),
    },
    messages: {
      deliverySummary: unused('messages.deliverySummary'),
      deliveryOf: unused('messages.deliveryOf'),
      getMessage: unused('messages.getMessage'),
      setReadMarker: unused('messages.setReadMarker'),
      readMarker: unused('messages.readMarker'),
      messagesAfter: unused('messages.messagesAfter'),
    },
    idempotency: {
      claim: unused('idempotency.claim'),
      complete: unused('idempotency.complete'),
      release: unused('idempotency.release'),
    },
    ingest: { prepare: unused('ingest.prepare'), send: unused('ingest.send') },
    audience: { prepare: unused('audience.prepare'), send: unused('audience.send') },
    acks: { prepare: unused('acks.prepare'), send: unused('acks.send') },
    scheduled: { cancelScheduled: unused('scheduled.cancelScheduled') },
    probes: {},
    endpointGuard: createEndpointGuard({ allowedHosts: [] }),
    registry: new Registry(),
    clock: () => 1_767_225_600_000,
    limits: {
      bodyLimitBytes: 65_536,
      messageMaxBytes: 4096,
      dependencyTimeoutMs: 1_000,
      timestampPastMs: 366 * 86_400_000,
      clockSkewMs: 300_000,
      ackDeliveryWaitMs: 50,
      rate: noRateLimits,
    },
    ...overrides,
  };
}

/** The app over `unitDeps(overrides)`, and a request helper that signs a token for `as`. */
export function unitApp(overrides: Partial<AppDeps> = {}) {
  const app = createApp(unitDeps(overrides));
  const call = async (
    method: string,
    path: string,
    options: { as?: string | null; roles?: string[]; json?: unknown } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (options.as !== null) headers.authorization = `Bearer ${await unitToken(options.as ?? 'bob', options.roles)}`;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const response = await app.request(path, {
      method,
      headers,
      ...(options.json !== undefined && { body: JSON.stringify(options.json) }),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
  };
  return { app, call };
}
