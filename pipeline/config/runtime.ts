import { z } from 'zod';

/** Stage runtime (pipeline/runtime): retry budget, delayed retries, consumer tuning, shutdown. */
export const runtimeEnv = z.object({
  MSGXC_RUNTIME_RETRY_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  MSGXC_RUNTIME_RETRY_BASE_MS: z.coerce.number().int().min(1).default(200),
  MSGXC_RUNTIME_RETRY_MAX_MS: z.coerce.number().int().min(1).default(5_000),
  MSGXC_RUNTIME_DELAYED_ATTEMPTS: z.coerce.number().int().min(0).default(5),
  MSGXC_RUNTIME_DELAYED_BASE_MS: z.coerce.number().int().min(1).default(10_000),
  MSGXC_RUNTIME_DELAYED_MAX_MS: z.coerce.number().int().min(1).default(600_000),
  MSGXC_RUNTIME_HANDLER_BATCH: z.coerce.number().int().min(1).default(1_000),
  // Bytes per produce call; keep under the broker's message.max.bytes (1 MiB by default), which bounds a partition's batch.
  MSGXC_RUNTIME_MAX_PRODUCE_BYTES: z.coerce.number().int().min(1024).default(900_000),
  // Commit a group's offsets at most this often (a trailing commit takes the last; at once on a failure or a
  // shutdown); bounds the rework after a crash. 0 = every chunk.
  MSGXC_RUNTIME_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
  // A streaming handler's outputs are produced every this many records (sooner at MAX_PRODUCE_BYTES).
  MSGXC_RUNTIME_STREAM_CHUNK: z.coerce.number().int().min(1).default(1_000),
  MSGXC_RUNTIME_PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).default(3),
  MSGXC_RUNTIME_MAX_BYTES_PER_PARTITION: z.coerce.number().int().min(1024).default(1_048_576),
  MSGXC_RUNTIME_MAX_BYTES: z.coerce.number().int().min(1024).default(10_485_760),
  MSGXC_RUNTIME_MAX_WAIT_MS: z.coerce.number().int().min(10).default(1_000),
  MSGXC_RUNTIME_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
  MSGXC_RUNTIME_HEARTBEAT_MS: z.coerce.number().int().min(100).default(3_000),
  MSGXC_RUNTIME_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  MSGXC_RUNTIME_LAG_SAMPLE_MS: z.coerce.number().int().min(100).default(15_000),
  // A process hosting only bulk lanes (urgency 1–2) runs at this nice value, so the OS favours urgent lanes; 0 = off.
  MSGXC_RUNTIME_BULK_NICE: z.coerce.number().int().min(0).max(19).default(10),
  // Where prioritize remembers request ids: `log` (per ingest partition, a compacted topic behind memory) or
  // `cassandra` (a conditional batch per chunk, the store before the log; no restore on a rebalance).
  MSGXC_PRIORITIZE_DEDUP: z.enum(['log', 'cassandra']).default('log'),
});

/** Defaults for every stage the runtime runs; a stage's own `errors` policy overrides the retry fields. */
export interface RuntimeConfig {
  /** In-process tries of a failing batch (the first included), with exponential back-off and jitter. */
  retry: { attempts: number; baseMs: number; maxMs: number };
  /** Trips through `<stage>.retry` before a record goes to `<stage>.dlq`; 0 sends it straight there. */
  delayedRetry: { attempts: number; baseMs: number; maxMs: number };
  /** Most records handed to one handler call; a fetched batch is cut into chunks of this size. */
  handlerBatch: number;
  /** Most bytes in one produce call; a single output larger than this is refused as OUTPUT_TOO_LARGE. */
  maxProduceBytes: number;
  /** Commit a group's offsets at most this often (commit-queue.ts); bounds the rework after a crash. */
  commitIntervalMs: number;
  /** A handler returning an AsyncIterable has its outputs produced every this many records (or maxProduceBytes). */
  streamChunk: number;
  consumer: {
    partitionsConsumedConcurrently: number;
    maxBytesPerPartition: number;
    maxBytes: number;
    maxWaitMs: number;
    sessionTimeoutMs: number;
    heartbeatMs: number;
  };
  shutdownTimeoutMs: number;
  lagSampleMs: number;
  /** Nice value of a process whose stages all read bulk lanes (urgency 1–2); 0 leaves it alone. */
  bulkNice: number;
  /** Prioritize's request-id store (pipeline/store/sightings.ts or dedup.ts). */
  requestDedup: 'log' | 'cassandra';
}

export function runtimeConfig(env: z.infer<typeof runtimeEnv>): RuntimeConfig {
  return {
    retry: {
      attempts: env.MSGXC_RUNTIME_RETRY_ATTEMPTS,
      baseMs: env.MSGXC_RUNTIME_RETRY_BASE_MS,
      maxMs: env.MSGXC_RUNTIME_RETRY_MAX_MS,
    },
    delayedRetry: {
      attempts: env.MSGXC_RUNTIME_DELAYED_ATTEMPTS,
      baseMs: env.MSGXC_RUNTIME_DELAYED_BASE_MS,
      maxMs: env.MSGXC_RUNTIME_DELAYED_MAX_MS,
    },
    handlerBatch: env.MSGXC_RUNTIME_HANDLER_BATCH,
    maxProduceBytes: env.MSGXC_RUNTIME_MAX_PRODUCE_BYTES,
    commitIntervalMs: env.MSGXC_RUNTIME_COMMIT_INTERVAL_MS,
    streamChunk: env.MSGXC_RUNTIME_STREAM_CHUNK,
    consumer: {
      partitionsConsumedConcurrently: env.MSGXC_RUNTIME_PARTITIONS_CONCURRENTLY,
      maxBytesPerPartition: env.MSGXC_RUNTIME_MAX_BYTES_PER_PARTITION,
      maxBytes: env.MSGXC_RUNTIME_MAX_BYTES,
      maxWaitMs: env.MSGXC_RUNTIME_MAX_WAIT_MS,
      sessionTimeoutMs: env.MSGXC_RUNTIME_SESSION_TIMEOUT_MS,
      heartbeatMs: env.MSGXC_RUNTIME_HEARTBEAT_MS,
    },
    shutdownTimeoutMs: env.MSGXC_RUNTIME_SHUTDOWN_TIMEOUT_MS,
    lagSampleMs: env.MSGXC_RUNTIME_LAG_SAMPLE_MS,
    bulkNice: env.MSGXC_RUNTIME_BULK_NICE,
    requestDedup: env.MSGXC_PRIORITIZE_DEDUP,
  };
}
