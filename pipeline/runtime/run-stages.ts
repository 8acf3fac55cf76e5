import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/index.ts';
import { createKafka, createRecordProducer } from '../kafka/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { registry as processRegistry, serveMetrics, stageMetrics } from '../metrics/index.ts';
import { createDefaultCodec, jsonCodec } from './codec.ts';
import { lowerCpuPriority } from './cpu-priority.ts';
import { StageProcess } from './stage-process.ts';
import type { AnyStageDefinition, RunningStages, RunOptions, StageDefinition } from './types.ts';
import { stageRank } from './urgency-gate.ts';

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
 * Runs stages in this process over one Kafka client and one idempotent producer, each stage in its own
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

  lowerPriorityOfBulkProcess(config, stages, log);
  const running = new StageProcess({ config, log, kafka, producer, admin, codec, metrics, instance, names });
  await running.start(stages, services);
  return { names, registry, stop: (reason) => running.stop(reason), done: running.done };
}

/**
 * A process that hosts only bulk lanes (`msgxc run triage.lane1 fanout.bulk`, as production scales them) or
 * background stages (`msgxc run ack`) gives the CPU to the urgent lanes' processes on the same host: the OS scheduler is the gate across processes
 * (its nice, and its session's autogroup when it leads one: see cpu-priority.ts).
 */
function lowerPriorityOfBulkProcess(config: Config, stages: AnyStageDefinition[], log: Logger): void {
  if (config.runtime.bulkNice === 0 || stages.length === 0 || !stages.every((stage) => stageRank(stage) === 0)) return;
  try {
    const applied = lowerCpuPriority(config.runtime.bulkNice);
    log.info(applied, 'bulk lanes or background stages only: running at a lower CPU priority');
  } catch (error) {
    log.warn({ err: error }, 'could not lower the priority of a bulk-lane process');
  }
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
