import type { Config } from '../config/index.ts';
import { createLogger } from '../log/index.ts';

/** Placeholder until the stages exist: brings the stack up and serves the facade's ping. */
export async function run(config: Config, _args: string[]): Promise<number> {
  const log = createLogger(config, 'start');
  if (config.usesLocalStack) {
    const { up } = await import('../../stack/index.ts');
    await up(config.stack, { report: (line) => log.info(line) });
  }
  const { serve } = await import('@hono/node-server');
  const { Hono } = await import('hono');
  const app = new Hono().get('/api/v1/ping', (c) => c.json(true));
  serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port });
  log.info({ url: `http://${config.http.host}:${config.http.port}/api/v1/ping` }, 'msgxc is up');
  await new Promise<void>((resolvePromise) => {
    process.once('SIGINT', () => resolvePromise());
    process.once('SIGTERM', () => resolvePromise());
  });
  return 0;
}
