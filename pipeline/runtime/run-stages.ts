import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/index.ts';
import { createKafka, createRecordProducer } from '../kafka/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { registry as processRegistry, serveMetrics, stageMetrics } from '../metrics/index.ts';
import { createDefaultCodec, jsonCodec } from './codec.ts';
import { type RunningStage, startStage } from './stage-runner.ts';
import type { AnyStageDefinition, RunningStages, RunOptions, Service, StageDefinition } from './types.ts';

const stageNamePattern = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;

/** Checks a stage declaration up front, so a typo fails at start-up rather than at the first record. */
export function defineStage<T, D>(definition: StageDefinition<T, D>): StageDefinition<T, D> {
  if (!stageNamePattern.test(definition.name)) {
    throw new TypeError(`stage name "${definition.name}" must be lower-case words joined by "." or "-"`);
  }
  if (definition.input.length === 0) throw new TypeError(`stage ${definition.name} declares no input topic`);
  for (const topic of [...definition.input, ...definition.output]) {
    if (!topic) throw new TypeError(`stage ${definition.name} declares an empty topic name`);
  }
  return definition;
}

/**
 * Runs stages in this process over one Kafka client and one idempotent record producer (pipeline/kafka), each stage in its own
 * consumer group, then starts the services (if any). Resolves once every stage has joined its group and
 * every service has started.
 */
export async function runStages(
  config: Config,
  stages: AnyStageDefinition[],
  options: RunOptions = {},
): Promise<RunningStages> {
  const log = options.log ?? createLogger(config, 'runtime');
  const registry = options.registry ?? processRegistry;
  const metrics = stageMetrics(registry);
  const services = Object.entries(options.services ?? {});
  const names = [...stages.map((stage) => stage.name), ...services.map(([name]) => name)];
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) throw new TypeError(`stage ${duplicate} is listed twice`);
  // Services alone need no Kafka clients of the runtime's (they bring their own).
  const codec = stages.length === 0 ? jsonCodec : (options.codec ?? (await createDefaultCodec(config)));
  const instance = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

  const kafka = createKafka(config, log.child({ component: 'kafkajs' }));
  const transport = options.producerTransport;
  const producer = createRecordProducer(config, { kafka, codec, log, ...(transport ? { transport } : {}) });
  const admin = kafka.admin();
  if (stages.length > 0) await Promise.all([producer.connect(), admin.connect()]);

  const abort = new AbortController();
  const running: RunningStage[] = [];
  const started: [string, Service][] = [];
  let exitCode = 0;
  let settle: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    settle = resolve;
  });

  const closeAll = async () => {
    // Services first, newest first: they may feed the stages (the scheduler re-injects into ingest).
    for (const [name, service] of started.splice(0).reverse()) {
      try {
        await service.close();
      } catch (error) {
        exitCode = 1;
        log.error({ err: error, service: name }, 'service did not close cleanly');
      }
    }
    const results = await Promise.allSettled(running.map((stage) => stage.stop()));
    for (const [index, result] of results.entries()) {
      if (result.status === 'rejected') {
        exitCode = 1;
        log.error({ err: result.reason, stage: running[index]?.name }, 'stage did not stop cleanly');
      }
    }
    await Promise.allSettled([producer.close(), admin.disconnect()]);
  };

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'requested') => {
    stopping ??= (async () => {
      log.info({ reason, stages: names }, 'stopping: finishing in-flight batches');
      abort.abort(new Error(`stopping: ${reason}`));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.runtime.shutdownTimeoutMs);
      });
      const outcome = await Promise.race([closeAll().then(() => 'closed' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        exitCode = 1;
        log.error(
          { timeoutMs: config.runtime.shutdownTimeoutMs },
          'stop timed out; uncommitted records will be redelivered',
        );
      } else {
        log.info({ stages: names }, 'stopped');
      }
      settle(exitCode);
    })();
    return stopping;
  };

  try {
    for (const stage of stages) {
      const stageLog = log.child({ stage: stage.name });
      running.push(
        await startStage({
          config,
          stage,
          kafka,
          producer,
          admin,
          codec,
          metrics,
          log: stageLog,
          instance,
          signal: abort.signal,
          onFatal: (error) => {
            exitCode = 1;
            stageLog.fatal({ err: error }, 'consumer crashed and will not restart');
            void stop('consumer crashed');
          },
        }),
      );
    }
    for (const [name, service] of services) {
      await service.start();
      started.push([name, service]);
      log.info({ service: name }, 'service running');
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  return { names, registry, stop, done };
}

/** SIGTERM / SIGINT stop the stages gracefully; a second signal falls through to Node's default (exit at once). */
export function stopOnSignals(running: RunningStages): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void running.stop(signal);
    });
  }
}

/**
 * What `msgxc run` does: serve `/metrics`, run the stages, stop on a signal; resolves with the exit code.
 */
export async function serveStages(
  config: Config,
  stages: AnyStageDefinition[],
  options: RunOptions & { metricsPort?: number } = {},
): Promise<number> {
  const log: Logger = options.log ?? createLogger(config, 'runtime');
  const registry = options.registry ?? processRegistry;
  // First, so a port already taken fails the start before any record is consumed.
  const server = await serveMetrics(registry, options.metricsPort ?? config.metrics.port, config.metrics.host);
  try {
    const running = await runStages(config, stages, { ...options, registry, log });
    stopOnSignals(running);
    log.info(
      { running: running.names, metrics: `http://${config.metrics.host}:${server.port}/metrics` },
      'stages running',
    );
    return await running.done;
  } finally {
    await server.close();
  }
}
