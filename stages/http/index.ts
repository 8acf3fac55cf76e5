import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Config, developmentJwtSecret } from '../../pipeline/config/index.ts';
import { createApp } from './app.ts';
import { createDeps, type RealDeps } from './deps.ts';
import type { AppDeps } from './ports.ts';

/**
 * The HTTP facade as something `msgxc start` / `msgxc run http` can start: `startHttp(config)` serves
 * the app on config.http.host:port and returns how to stop it (stop accepting, finish in-flight
 * requests, flush the producer, close Cassandra).
 */

export { createApp } from './app.ts';
export { createDeps, type RealDeps } from './deps.ts';
export type { AppDeps } from './ports.ts';

export interface RunningHttp {
  url: string;
  port: number;
  deps: RealDeps;
  close(): Promise<void>;
}

export async function startHttp(
  config: Config,
  options: { port?: number; host?: string; overrides?: Partial<AppDeps> } = {},
): Promise<RunningHttp> {
  const deps = createDeps(config, options.overrides);
  const app = createApp(deps);
  const host = options.host ?? config.http.host;
  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve({ fetch: app.fetch, hostname: host, port: options.port ?? config.http.port }, () =>
      resolve(created as Server),
    ) as Server;
    created.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  deps.log.info({ url }, 'HTTP facade listening');
  if (config.auth.algorithm === 'HS256' && config.auth.secret === developmentJwtSecret) {
    deps.log.warn('tokens are checked with the public development secret: set MSGXC_JWT_SECRET (or a JWKS URL)');
  }
  return {
    url,
    port,
    deps,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await deps.close();
    },
  };
}

/** `msgxc http`: serves until SIGINT/SIGTERM. */
export async function run(config: Config, _args: string[]): Promise<number> {
  const running = await startHttp(config);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await running.close();
  return 0;
}
