import { z } from 'zod';
import { bool, list, port } from './env.ts';

/** WebSocket gateway (stages/gateway): where it listens and the limits that bound what one connection can cost. */
export const wsEnv = z.object({
  MSGXC_WS_PORT: port.default(8090),
  MSGXC_WS_HOST: z.string().default('127.0.0.1'),
  MSGXC_WS_PATH: z.string().startsWith('/').default('/ws'),
  MSGXC_WS_MAX_PAYLOAD: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  MSGXC_WS_HEARTBEAT_MS: z.coerce.number().int().min(50).default(30_000),
  MSGXC_WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  MSGXC_WS_MAX_INVALID_FRAMES: z.coerce.number().int().min(1).default(10),
  MSGXC_WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).default(100),
  MSGXC_WS_QUERY_TOKEN: bool.default(false),
  MSGXC_WS_ALLOWED_ORIGINS: list.optional(),
});

export interface WsConfig {
  port: number;
  host: string;
  path: string;
  /** Largest client frame in bytes; bigger ones close the socket with 1009. */
  maxPayload: number;
  /** Ping interval; a socket that has not answered the previous ping is terminated. */
  heartbeatMs: number;
  /** Slow-consumer limit: past this many unsent bytes the socket is closed with 4008. */
  maxBufferedBytes: number;
  /** Invalid frames tolerated per minute before closing with 1008. */
  maxInvalidFrames: number;
  /** Live thread subscriptions per connection. */
  maxSubscriptions: number;
  /** Accept `?access_token=` on the upgrade URL (off: query strings land in access logs). */
  queryToken: boolean;
  /** When set, the upgrade's `Origin` must be one of these. */
  allowedOrigins: string[] | null;
}

export function wsConfig(env: z.infer<typeof wsEnv>): WsConfig {
  return {
    port: env.MSGXC_WS_PORT,
    host: env.MSGXC_WS_HOST,
    path: env.MSGXC_WS_PATH,
    maxPayload: env.MSGXC_WS_MAX_PAYLOAD,
    heartbeatMs: env.MSGXC_WS_HEARTBEAT_MS,
    maxBufferedBytes: env.MSGXC_WS_MAX_BUFFERED_BYTES,
    maxInvalidFrames: env.MSGXC_WS_MAX_INVALID_FRAMES,
    maxSubscriptions: env.MSGXC_WS_MAX_SUBSCRIPTIONS,
    queryToken: env.MSGXC_WS_QUERY_TOKEN,
    allowedOrigins: env.MSGXC_WS_ALLOWED_ORIGINS ?? null,
  };
}
