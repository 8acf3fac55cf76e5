import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type { Registry };

/** The process-wide registry: every component registers here and `/metrics` serves it. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'msgxc_process_' });

export interface StageMetrics {
  recordsIn: Counter<'stage' | 'topic'>;
  recordsOut: Counter<'stage' | 'topic'>;
  errors: Counter<'stage' | 'code' | 'phase'>;
  retries: Counter<'stage' | 'kind'>;
  produceRequests: Counter<'stage'>;
  deadLetters: Counter<'stage' | 'code'>;
  gaveWay: Counter<'stage'>;
  rejoins: Counter<'stage'>;
  lag: Gauge<'stage' | 'topic' | 'partition'>;
  batchDuration: Histogram<'stage'>;
}

const stageMetricsByRegistry = new WeakMap<Registry, StageMetrics>();

/** The stage runtime's metrics, created once per registry (several stages in one process share them by label). */
export function stageMetrics(target: Registry = registry): StageMetrics {
  const existing = stageMetricsByRegistry.get(target);
  if (existing) return existing;
  const registers = [target];
  const metrics: StageMetrics = {
    recordsIn: new Counter({
      name: 'msgxc_stage_records_in_total',
      help: 'Records consumed by a stage, per input topic (retry-topic records count under their original topic).',
      labelNames: ['stage', 'topic'],
      registers,
    }),
    recordsOut: new Counter({
      name: 'msgxc_stage_records_out_total',
      help: 'Records a stage produced and had acknowledged, per output topic (retry and dead-letter topics included).',
      labelNames: ['stage', 'topic'],
      registers,
    }),
    errors: new Counter({
      name: 'msgxc_stage_errors_total',
      help: 'Failed decodes and handler calls, by error code and phase.',
      labelNames: ['stage', 'code', 'phase'],
      registers,
    }),
    retries: new Counter({
      name: 'msgxc_stage_retries_total',
      help: 'Retries: "backoff" = in-process retry after a back-off, "delayed" = record sent to the retry topic.',
      labelNames: ['stage', 'kind'],
      registers,
    }),
    produceRequests: new Counter({
      name: 'msgxc_stage_produce_requests_total',
      help: 'Produce calls a stage made (each acknowledged by all in-sync replicas); records_out over this is the records per call.',
      labelNames: ['stage'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'msgxc_stage_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by error code.',
      labelNames: ['stage', 'code'],
      registers,
    }),
    gaveWay: new Counter({
      name: 'msgxc_stage_gave_way_total',
      help: 'Times a stage of a lower lane waited before its next chunk because this process handled urgent records.',
      labelNames: ['stage'],
      registers,
    }),
    rejoins: new Counter({
      name: 'msgxc_stage_consumer_rejoins_total',
      help: 'Attempts to join the group again after a consumer crashed because the Kafka cluster was away (crashes kafkajs does not restart itself).',
      labelNames: ['stage'],
      registers,
    }),
    lag: new Gauge({
      name: 'msgxc_stage_consumer_lag',
      help: 'Records between the consumer position and the high watermark, per partition (sampled).',
      labelNames: ['stage', 'topic', 'partition'],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'msgxc_stage_batch_duration_seconds',
      help: 'Time to decode, handle and produce one handler batch (a chunk of a fetched batch), commit included when due.',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
  stageMetricsByRegistry.set(target, metrics);
  return metrics;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` in the Prometheus text format. */
export async function serveMetrics(target: Registry, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    target.metrics().then(
      (body) => response.writeHead(200, { 'content-type': target.contentType }).end(body),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
