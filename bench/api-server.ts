import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { type Config, parseConfig } from '../pipeline/config/index.ts';
import {
  createBatcher,
  createKafka,
  createTopicsIfMissing,
  kafkajsTransport,
  type Message,
  type ProduceTransport,
  platformaticTransport,
  requestBatching,
  requestProducerConfig,
} from '../pipeline/kafka/index.ts';
import { topicName, topicSpec } from '../pipeline/topics/index.ts';
import { createApp, createDeps } from '../stages/http/index.ts';

/**
 * The serving process of `npm run bench -- api` (bench/api.ts forks it): a bare Hono route and the real
 * facade over the real servers, each on a port of its own, and on request its CPU time, longest event-loop
 * stall and the p99 of the time spent inside the apps.
 */

export interface ServerPorts {
  bare: number;
  /** The bare route that also waits for Kafka: the ceiling of any publish that answers after the broker's ack. */
  bareKafka: number;
  facade: number;
  /** The facade a second time, varied (`--variant=clients`, `no-kafka` or `linger:<ms>`), when asked for. */
  variant?: number;
}

export interface ServerSample {
  /** CPU microseconds used by the serving process so far. */
  cpu: number;
  /** The longest event-loop stall since the previous sample. */
  loopDelayMaxMs: number;
  /** p99 of the time spent inside the app (handler and its dependencies) since the previous sample. */
  insideP99Ms: number;
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

/** The child: serves the bare route and the facade, reports their ports, stops on SIGTERM. */
async function serveForBench(): Promise<void> {
  const config = parseConfig(process.env);
  const bareApp = new Hono().post('/api/v1/publish', async (c) => {
    await c.req.json();
    return c.json(true);
  });
  // Time inside each app (from the adapter's call to the answer): what the server itself adds, apart
  // from the load generator and the scheduler of a shared machine.
  let inside: number[] = [];
  const timed =
    (fetch: (request: Request) => Response | Promise<Response>) =>
    async (request: Request): Promise<Response> => {
      const started = performance.now();
      const response = await fetch(request);
      inside.push(performance.now() - started);
      return response;
    };
  // Every port is bound with SO_REUSEPORT: the bench's further workers bind the first one's ports, and the
  // kernel spreads the connections over them, as it would over several facade instances on one host.
  const joining = workerPorts(process.argv);
  const listen = (fetch: (request: Request) => Response | Promise<Response>, port = 0) =>
    new Promise<number>((resolve, reject) => {
      const server = createAdaptorServer({ fetch: timed(fetch) });
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, reusePort: true }, () =>
        resolve((server.address() as AddressInfo).port),
      );
    });
  const deps = createDeps(config);
  const facadeApp = createApp(deps);
  const bareKafkaRoute = await bareRouteWithKafka(config);
  const bare = await listen((request) => bareApp.fetch(request), joining?.bare);
  const bareKafka = await listen((request) => bareKafkaRoute.app.fetch(request), joining?.bareKafka);
  const facade = await listen((request) => facadeApp.fetch(request), joining?.facade);
  const ports: ServerPorts = { bare, bareKafka, facade };
  const closing = [deps.close, bareKafkaRoute.close];
  const variant = variantOf(process.argv);
  if (variant !== undefined) {
    const other =
      variant.kind === 'clients'
        ? createDeps(config, {}, { produceTransport: platformaticTransport(config, undefined, 'request') })
        : variant.kind === 'no-kafka'
          ? createDeps(config, {}, { produceTransport: noKafka })
          : createDeps({ ...config, kafka: { ...config.kafka, requestLingerMs: variant.lingerMs } });
    const otherApp = createApp(other);
    ports.variant = await listen((request) => otherApp.fetch(request), joining?.variant);
    closing.push(other.close);
  }
  process.send?.(ports);
  // The parent asks for this process's CPU time around each phase: CPU per request is the figure the
  // shared machine's noise disturbs least.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  process.on('message', (message) => {
    if (message === 'cpu') {
      const usage = process.cpuUsage();
      const sorted = inside.sort((a, b) => a - b);
      const sample: ServerSample = {
        cpu: usage.user + usage.system,
        loopDelayMaxMs: loopDelay.max / 1e6,
        insideP99Ms: percentile(sorted, 99),
      };
      loopDelay.reset();
      inside = [];
      process.send?.(sample);
    }
  });
  process.once('SIGTERM', () => {
    Promise.allSettled(closing.map((close) => close())).finally(() => process.exit(0));
  });
}

/** The topic the bare route with Kafka writes to. */
const bareKafkaTopic = (config: Config) => topicName(config, 'bench-bare-kafka');

/**
 * Creates that topic before the servers start (`bench/api.ts`): as many partitions as ingest, dropped with the
 * bench's other topics.
 */
export async function createBareKafkaTopic(config: Config): Promise<void> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const topic = { topic: bareKafkaTopic(config), partitions: topicSpec('ingest').partitions, retentionMs: 3_600_000 };
    await createTopicsIfMissing(admin, [topic]);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The bare route plus the one thing every publish has to wait for: the body written to Kafka with acks = all,
 * by kafkajs with the facade's client and producer settings and its produce call (`kafkajsTransport`), the
 * records of the callers waiting meanwhile gathered into one produce request with one in flight (the facade's
 * group commit, `requestBatching`). No auth, validation, Avro or rules: the most a route that answers after the
 * broker's acknowledgement can do on this machine, so the facade's ratio to the bare route can be read against
 * this route's.
 */
async function bareRouteWithKafka(config: Config): Promise<{ app: Hono; close: () => Promise<void> }> {
  const transport = kafkajsTransport(
    createKafka(config, undefined, { lowLatency: true }).producer(requestProducerConfig),
  );
  await transport.connect();
  const topic = bareKafkaTopic(config);
  const batcher = createBatcher(
    (messages: Message[]) => transport.send([{ topic, messages }]),
    requestBatching(config),
  );
  const app = new Hono().post('/api/v1/publish', async (c) => {
    const body = await c.req.json();
    await batcher.add([{ key: randomUUID(), value: JSON.stringify(body) }]);
    return c.json(true);
  });
  return {
    app,
    close: async () => {
      await batcher.flush();
      await transport.disconnect();
    },
  };
}

/**
 * The facade served a second time: with `@platformatic/kafka` behind its producer (the facade's own is kafkajs,
 * whatever `MSGXC_KAFKA_PRODUCER_CLIENT` says: pipeline/kafka/README.md), with another produce linger, or (a
 * diagnostic) with a producer that writes nothing.
 */
export type Variant = { kind: 'clients' } | { kind: 'no-kafka' } | { kind: 'linger'; lingerMs: number };

export const variantArg = (variant: Variant) =>
  `--variant=${variant.kind === 'linger' ? `linger:${variant.lingerMs}` : variant.kind}`;

/** The `no-kafka` diagnostic: a transport that takes every produce call and answers at once, writing nothing. */
const noKafka: ProduceTransport = {
  connect: async () => undefined,
  send: async () => undefined,
  disconnect: async () => undefined,
  onDisconnect: () => undefined,
};

function variantOf(argv: string[]): Variant | undefined {
  const given = argv.find((arg) => arg.startsWith('--variant='))?.slice('--variant='.length);
  if (given === undefined) return undefined;
  if (given === 'clients' || given === 'no-kafka') return { kind: given };
  return { kind: 'linger', lingerMs: Number(given.slice('linger:'.length)) };
}

/** How the bench names the configured facade and its variant. */
export function variantNames(config: Config, variant: Variant): { configured: string; other: string } {
  if (variant.kind === 'linger') {
    return { configured: `linger ${config.kafka.requestLingerMs} ms`, other: `linger ${variant.lingerMs} ms` };
  }
  if (variant.kind === 'no-kafka') return { configured: 'kafkajs', other: 'no Kafka (a diagnostic)' };
  return { configured: 'kafkajs', other: '@platformatic/kafka' };
}

/** `--ports=<json>`: the ports of the first worker, which a further worker binds too. */
function workerPorts(argv: string[]): ServerPorts | undefined {
  const given = argv.find((arg) => arg.startsWith('--ports='));
  return given === undefined ? undefined : (JSON.parse(given.slice('--ports='.length)) as ServerPorts);
}

if (import.meta.main && process.argv.includes('--bench-api-server')) await serveForBench();
