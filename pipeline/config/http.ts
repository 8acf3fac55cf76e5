import { z } from 'zod';
import { list, port } from './env.ts';

/**
 * HTTP facade: where it listens, limits, Web Push endpoint allowlist (tests' local receivers), idempotency window,
 * dependency deadline, thread cache, and the window a request's timestamps must fall in.
 */
export const httpEnv = z.object({
  MSGXC_HTTP_HOST: z.string().default('127.0.0.1'),
  MSGXC_HTTP_PORT: port.default(8080),
  MSGXC_HTTP_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(65_536),
  MSGXC_MESSAGE_MAX_BYTES: z.coerce.number().int().min(16).default(4096),
  MSGXC_WEBPUSH_ALLOWED_HOSTS: list.optional(),
  MSGXC_IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(1).default(86_400),
  MSGXC_HTTP_DEPENDENCY_TIMEOUT_MS: z.coerce.number().int().min(100).default(13_000),
  MSGXC_HTTP_THREAD_CACHE_TTL_MS: z.coerce.number().int().min(0).default(1000),
  MSGXC_HTTP_TIMESTAMP_PAST_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(366 * 86_400),
  MSGXC_HTTP_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  MSGXC_HTTP_ACK_DELIVERY_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(3000),
  MSGXC_HTTP_RATE_USER_PER_SECOND: z.coerce.number().min(0).default(20),
  MSGXC_HTTP_RATE_USER_BURST: z.coerce.number().int().min(0).default(60),
  MSGXC_HTTP_RATE_TOKEN_PER_SECOND: z.coerce.number().min(0).default(10),
  MSGXC_HTTP_RATE_TOKEN_BURST: z.coerce.number().int().min(0).default(30),
  MSGXC_HTTP_RATE_THREAD_PER_MINUTE: z.coerce.number().min(0).default(60),
  MSGXC_HTTP_RATE_THREAD_BURST: z.coerce.number().int().min(0).default(10),
});

export interface HttpConfig {
  host: string;
  port: number;
  bodyLimitBytes: number;
  messageMaxBytes: number;
  /** Hosts (`name` or `name:port`) whose Web Push endpoints skip the private-address check. */
  webPushAllowedHosts: string[];
  idempotencyTtlSeconds: number;
  /**
   * Deadline for one call into Kafka, the registry or Cassandra. Above the Kafka publisher's give-up time
   * (~3 s) and the Cassandra driver's read timeout (12 s), so the drivers report an outage before the
   * deadline does and a late write cannot follow a 503.
   */
  dependencyTimeoutMs: number;
  /** How long a thread read for a permission check is served from memory (0 = off). */
  threadCacheTtlMs: number;
  /** How far in the past a timestamp in a request may lie (ack `at`, `opts.scheduledAt`/`expiresAt`). */
  timestampPastMs: number;
  /** How far ahead of the server's clock a client's "it happened at" (ack `at`) may be. */
  clockSkewMs: number;
  /** How long an ack waits for the delivery record it refers to (it may trail the frame the client has). */
  ackDeliveryWaitMs: number;
  /** Token buckets per user, per bearer token and per (user, thread) publish; a rate of 0 turns one off. */
  rate: {
    userPerSecond: number;
    userBurst: number;
    tokenPerSecond: number;
    tokenBurst: number;
    threadPerMinute: number;
    threadBurst: number;
  };
}

export function httpConfig(env: z.infer<typeof httpEnv>): HttpConfig {
  return {
    host: env.MSGXC_HTTP_HOST,
    port: env.MSGXC_HTTP_PORT,
    bodyLimitBytes: env.MSGXC_HTTP_BODY_LIMIT_BYTES,
    messageMaxBytes: env.MSGXC_MESSAGE_MAX_BYTES,
    webPushAllowedHosts: env.MSGXC_WEBPUSH_ALLOWED_HOSTS ?? [],
    idempotencyTtlSeconds: env.MSGXC_IDEMPOTENCY_TTL_SECONDS,
    dependencyTimeoutMs: env.MSGXC_HTTP_DEPENDENCY_TIMEOUT_MS,
    threadCacheTtlMs: env.MSGXC_HTTP_THREAD_CACHE_TTL_MS,
    timestampPastMs: env.MSGXC_HTTP_TIMESTAMP_PAST_SECONDS * 1000,
    clockSkewMs: env.MSGXC_HTTP_CLOCK_SKEW_SECONDS * 1000,
    ackDeliveryWaitMs: env.MSGXC_HTTP_ACK_DELIVERY_WAIT_MS,
    rate: {
      userPerSecond: env.MSGXC_HTTP_RATE_USER_PER_SECOND,
      userBurst: env.MSGXC_HTTP_RATE_USER_BURST,
      tokenPerSecond: env.MSGXC_HTTP_RATE_TOKEN_PER_SECOND,
      tokenBurst: env.MSGXC_HTTP_RATE_TOKEN_BURST,
      threadPerMinute: env.MSGXC_HTTP_RATE_THREAD_PER_MINUTE,
      threadBurst: env.MSGXC_HTTP_RATE_THREAD_BURST,
    },
  };
}
