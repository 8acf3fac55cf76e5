import { join } from 'node:path';
import { z } from 'zod';
import { bool } from './env.ts';

/** The Spark jobs (`spark/`): whether `npm start` runs the streaming roll-ups, and how they are submitted. */
export const sparkEnv = z.object({
  // `npm start` runs the streaming roll-up job beside the stages (one JVM of about MSGXC_SPARK_DRIVER_MEMORY plus ~250 MiB).
  MSGXC_SPARK_STREAMING: bool.default(true),
  // Where spark-submit sends the jobs: local[N] on this machine, or spark://…, yarn, k8s://… for a cluster.
  MSGXC_SPARK_MASTER: z.string().min(1).default('local[2]'),
  MSGXC_SPARK_DRIVER_MEMORY: z
    .string()
    .regex(/^[0-9]+[kmgt]$/i, 'a JVM size such as 768m or 2g')
    .default('768m'),
  // Micro-batch interval of the streaming job.
  MSGXC_SPARK_TRIGGER_SECONDS: z.coerce.number().positive().default(5),
  // Checkpoints of the streaming job; on a cluster, a shared file system (hdfs://, s3a://).
  MSGXC_SPARK_STATE_DIR: z.string().optional(),
  // Read by the Python jobs themselves (spark/msgxc_spark/settings.py); validated here so a typo fails `npm start`.
  MSGXC_SPARK_SHUFFLE_PARTITIONS: z.coerce.number().int().min(1).default(4),
  MSGXC_SPARK_MAX_OFFSETS_PER_TRIGGER: z.coerce.number().int().min(1).default(500_000),
  MSGXC_SPARK_STARTING_OFFSETS: z.enum(['earliest', 'latest']).default('earliest'),
  MSGXC_SPARK_VENV: z.string().optional(),
});

export interface SparkConfig {
  streaming: boolean;
  master: string;
  driverMemory: string;
  triggerSeconds: number;
  stateDir: string;
}

export function sparkConfig(env: z.infer<typeof sparkEnv>, cacheDir: string): SparkConfig {
  return {
    streaming: env.MSGXC_SPARK_STREAMING,
    master: env.MSGXC_SPARK_MASTER,
    driverMemory: env.MSGXC_SPARK_DRIVER_MEMORY,
    triggerSeconds: env.MSGXC_SPARK_TRIGGER_SECONDS,
    stateDir: env.MSGXC_SPARK_STATE_DIR ?? join(cacheDir, 'spark-state'),
  };
}
