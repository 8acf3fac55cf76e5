import { z } from 'zod';
import { list, port } from './env.ts';

/** HTTP facade: where it listens, limits, Web Push endpoint allowlist (tests' local receivers), idempotency window. */
export const httpEnv = z.object({
  MSGXC_HTTP_HOST: z.string().default('127.0.0.1'),
  MSGXC_HTTP_PORT: port.default(8080),
  MSGXC_HTTP_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(65_536),
  MSGXC_MESSAGE_MAX_BYTES: z.coerce.number().int().min(16).default(4096),
  MSGXC_WEBPUSH_ALLOWED_HOSTS: list.optional(),
  MSGXC_IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(1).default(86_400),
});

export interface HttpConfig {
  host: string;
  port: number;
  bodyLimitBytes: number;
  messageMaxBytes: number;
  /** Hosts (`name` or `name:port`) whose Web Push endpoints skip the private-address check. */
  webPushAllowedHosts: string[];
  idempotencyTtlSeconds: number;
}

export function httpConfig(env: z.infer<typeof httpEnv>): HttpConfig {
  return {
    host: env.MSGXC_HTTP_HOST,
    port: env.MSGXC_HTTP_PORT,
    bodyLimitBytes: env.MSGXC_HTTP_BODY_LIMIT_BYTES,
    messageMaxBytes: env.MSGXC_MESSAGE_MAX_BYTES,
    webPushAllowedHosts: env.MSGXC_WEBPUSH_ALLOWED_HOSTS ?? [],
    idempotencyTtlSeconds: env.MSGXC_IDEMPOTENCY_TTL_SECONDS,
  };
}
