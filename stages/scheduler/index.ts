import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { createRecordProducer, type RecordProducer } from '../../pipeline/kafka/index.ts';
import { createLogger, type Logger } from '../../pipeline/log/index.ts';
import { registry as processRegistry, type Registry, serveMetrics } from '../../pipeline/metrics/index.ts';
import { type CancelPrincipal, type CancelResult, createCanceller } from '../../pipeline/schedule/cancel.ts';
import { scheduleClaims } from '../../pipeline/schedule/claims.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import { createSchedulerLoop, type TickReport } from './loop.ts';
import { schedulerMetrics } from './metrics.ts';

/**
 * The scheduler is not a Kafka consumer but a small long-running loop (loop.ts) over the Cassandra schedule:
 * `createScheduler(config)` → start/stop. Run it with `msgxc scheduler`; any number of instances may run,
 * the schedule's LWT claims keep re-injection exactly-once between them.
 */

export { type CancelPrincipal, type CancelResult, createCanceller } from '../../pipeline/schedule/cancel.ts';
export { scheduleWriter } from '../../pipeline/schedule/claims.ts';
export { createSchedulerLoop, reinjection } from './loop.ts';

export interface SchedulerOptions {
  log?: Logger;
  /** Identifies this instance in claims; unique per process by default. */
  owner?: string;
  intervalMs?: number;
  leaseMs?: number;
  batchLimit?: number;
  /** Where the scheduler's metrics go; the process-wide registry by default. */
  registry?: Registry;
}

export interface Scheduler {
  owner: string;
  start(): Promise<void>;
  /** One pass now (tests, tools); the running loop does this every interval. */
  tick(): Promise<TickReport>;
  /** Stops ticking once a running tick has finished; `start` resumes. */
  stop(): Promise<void>;
  /** Stops and releases the Cassandra and Kafka connections. */
  close(): Promise<void>;
}

export function createScheduler(config: Config, options: SchedulerOptions = {}): Scheduler {
  const log = options.log ?? createLogger(config, 'scheduler');
  const owner = options.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const cassandra = createCassandra(config);
  const store = createScheduleStore(cassandra);
  let sink: RecordProducer | undefined;
  let loop: ReturnType<typeof createSchedulerLoop> | undefined;

  const ready = async () => {
    if (!sink) {
      // Records are encoded like any stage's outputs and sent in one batch, resolved only once every in-sync
      // replica has them: the loop marks rows done only after that.
      const producer = createRecordProducer(config, { log });
      await producer.connect();
      sink = producer;
    }
    loop ??= createSchedulerLoop({
      claims: scheduleClaims(store, log),
      sink,
      owner,
      log,
      metrics: schedulerMetrics(options.registry),
      ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
      ...(options.batchLimit === undefined ? {} : { batchLimit: options.batchLimit }),
    });
    return loop;
  };

  return {
    owner,
    async start() {
      (await ready()).start();
      log.info({ owner }, 'scheduler running');
    },
    async tick() {
      return (await ready()).tick();
    },
    async stop() {
      await loop?.stop();
    },
    async close() {
      await loop?.stop();
      await Promise.allSettled([sink?.close(), cassandra.shutdown()]);
    },
  };
}

/** The cancel API with its real dependencies, for the HTTP facade: `DELETE /api/v1/scheduled/{requestId}`. */
export function createScheduleCanceller(config: Config, options: { log?: Logger } = {}) {
  const log = options.log ?? createLogger(config, 'scheduler');
  const cassandra = createCassandra(config);
  const schedule = createScheduleStore(cassandra);
  // Connects on its first cancelled event; a failed connect is tried again by the next.
  const events = createRecordProducer(config, { log });
  const canceller = createCanceller({ schedule, events });
  return {
    cancelScheduled: (requestId: string, principal: CancelPrincipal): Promise<CancelResult> =>
      canceller.cancelScheduled(requestId, principal),
    async close() {
      await Promise.allSettled([events.close(), cassandra.shutdown()]);
    },
  };
}

/**
 * `msgxc scheduler [--metrics-port=N]`: runs one scheduler instance until SIGTERM / SIGINT, serving /metrics
 * (port 0 or a port in use by a stage process on the same host: pick another with --metrics-port).
 */
export async function run(config: Config, args: string[]): Promise<number> {
  const portArg = args.find((arg) => arg.startsWith('--metrics-port='))?.split('=')[1];
  const port = portArg === undefined ? config.metrics.port : Number(portArg);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error('usage: msgxc scheduler [--metrics-port=N]');
    return 2;
  }
  const log = createLogger(config, 'scheduler');
  const scheduler = createScheduler(config, { registry: processRegistry, log });
  await scheduler.start();
  const server = await serveMetrics(processRegistry, port, config.metrics.host);
  log.info(
    { metrics: `http://${config.metrics.host}:${server.port}/metrics`, owner: scheduler.owner },
    'scheduler serving metrics',
  );
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  await scheduler.close();
  await server.close();
  return 0;
}
