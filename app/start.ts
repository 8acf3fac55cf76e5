import type { Config } from '../pipeline/config/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { exitAfter, waitForStop } from './lifecycle.ts';

/**
 * `npm start`: the whole system in one process on the local stack (or on configured clusters) —
 * servers up, Cassandra migrated, schemas registered, topics created, then every stage, the
 * scheduler and the HTTP facade. Production runs the same pieces as separate processes
 * (`msgxc run <stage>`, `msgxc scheduler`, `msgxc http`), scaled by adding instances.
 */
export async function run(config: Config, _args: string[]): Promise<number> {
  const log = createLogger(config, 'start');
  if (config.usesLocalStack) {
    const { up } = await import('../stack/index.ts');
    await up(config.stack, { report: (line) => log.info(line) });
  }

  const { migrate } = await import('../pipeline/cassandra/index.ts');
  await migrate(config, { log });
  const { registerSchemas } = await import('../pipeline/serde/index.ts');
  const { ensureTopics } = await import('../pipeline/topics/index.ts');
  await registerSchemas(config);
  await ensureTopics(config, undefined, { log });
  const { applyConnectors } = await import('../connectors/index.ts');
  if (config.connect.apply) await applyConnectors(config, { log });

  const { services, stages } = await import('../stages/index.ts');
  const { runStages } = await import('../pipeline/runtime/index.ts');
  const { serveMetrics, registry } = await import('../pipeline/metrics/index.ts');
  const { startHttp } = await import('../stages/http/index.ts');

  // Listeners first: a port already taken fails the start before any record is consumed.
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    // Push channels without credentials go to local provider servers (stack/providers/sandbox.ts).
    const sandbox = await (await import('../stack/providers/sandbox.ts')).startSandbox(config, log);
    closers.push(() => sandbox.close());
    config = sandbox.config;
    const metrics = await serveMetrics(registry, config.metrics.port, config.metrics.host);
    closers.push(() => metrics.close());
    const http = await startHttp(config);
    closers.push(() => http.close());
    const definitions = await Promise.all(Object.values(stages).map((load) => load()));
    // The services (the scheduler) start after the stages and are closed first by running.stop.
    const hosted = Object.fromEntries(
      await Promise.all(Object.entries(services).map(async ([name, load]) => [name, await load(config)] as const)),
    );
    const running = await runStages(config, definitions, { log, services: hosted });
    closers.push(() => running.stop('shutdown'));
    const { startSparkStreaming } = await import('../pipeline/spark/index.ts');
    if (config.spark.streaming) closers.push(startSparkStreaming(config, log).stop);
    log.info(
      {
        api: `${http.url}/api/v1/ping`,
        websocket: `ws://${config.ws.host}:${config.ws.port}${config.ws.path}`,
        metrics: `http://${config.metrics.host}:${metrics.port}/metrics`,
        stages: running.names,
      },
      'msgxc is up',
    );
    const signal = await waitForStop({ done: running.done });
    log.info({ signal }, 'stopping');
    await closeAll();
    const code = await running.done;
    exitAfter(5_000, () => code);
    return code;
  } catch (error) {
    await closeAll();
    throw error;
  }
}
