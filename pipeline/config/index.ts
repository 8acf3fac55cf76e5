import { z } from 'zod';
import { type AuthConfig, authConfig, authEnv } from './auth.ts';
import { type ClustersConfig, clustersConfig, clustersEnv, usesLocalStack } from './clusters.ts';
import { type DeliveryConfig, deliveryConfig, deliveryEnv } from './delivery.ts';
import { type DevicesConfig, devicesConfig, devicesEnv } from './devices.ts';
import { projectRoot } from './env.ts';
import { type AckConfig, ackConfig, type FanoutConfig, fanoutConfig, fanoutEnv } from './fanout.ts';
import { type HttpConfig, httpConfig, httpEnv } from './http.ts';
import { type MessagingConfig, messagingConfig, messagingEnv } from './messaging.ts';
import { type RuntimeConfig, runtimeConfig, runtimeEnv } from './runtime.ts';
import { type SparkConfig, sparkConfig, sparkEnv } from './spark.ts';
import { type StackConfig, stackConfig, stackEnv } from './stack.ts';
import { type WsConfig, wsConfig, wsEnv } from './ws.ts';

/**
 * The one place that reads the environment. Everything else receives a parsed `Config`.
 * Defaults point at the local stack (`npm run stack -- up`); setting a cluster's URL points
 * the system at an existing cluster instead, and `npm start` then leaves the local stack alone.
 * Each area's variables, their `Config` slice and the mapping between them live in a file beside this one.
 */

export { developmentJwtSecret } from './auth.ts';
export type { DeliveryConfig } from './delivery.ts';
export { type DeviceKey, type DevicesConfig, developmentDeviceKey } from './devices.ts';
export type { FanoutConfig } from './fanout.ts';
export type { HttpConfig } from './http.ts';
export type { MessagingConfig } from './messaging.ts';
export type { RuntimeConfig } from './runtime.ts';
export type { SparkConfig } from './spark.ts';
export type { StackConfig } from './stack.ts';

const generalEnv = z.object({
  MSGXC_ENV: z.enum(['development', 'test', 'production']).default('development'),
  MSGXC_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  // Prometheus `/metrics` of stage processes.
  MSGXC_METRICS_HOST: z.string().default('127.0.0.1'),
  // 0 = any free port (the one taken is logged at start): several processes of one host, one per stage.
  MSGXC_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
});

/** Every variable msgxc reads, by name. */
export const envSchema = z.object({
  ...generalEnv.shape,
  ...stackEnv.shape,
  ...clustersEnv.shape,
  ...httpEnv.shape,
  ...wsEnv.shape,
  ...runtimeEnv.shape,
  ...fanoutEnv.shape,
  ...authEnv.shape,
  ...messagingEnv.shape,
  ...devicesEnv.shape,
  ...deliveryEnv.shape,
  ...sparkEnv.shape,
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['MSGXC_ENV'];
  logLevel: Env['MSGXC_LOG_LEVEL'];
  projectRoot: string;
  /** True when every cluster is the local stack, so `npm start` should bring it up. */
  usesLocalStack: boolean;
  stack: StackConfig;
  kafka: ClustersConfig['kafka'];
  registry: ClustersConfig['registry'];
  cassandra: ClustersConfig['cassandra'];
  search: ClustersConfig['search'];
  connect: ClustersConfig['connect'];
  http: HttpConfig;
  auth: AuthConfig;
  /** Keys sealing device secrets in the audience index. */
  devices: DevicesConfig;
  ws: WsConfig;
  metrics: { host: string; port: number };
  runtime: RuntimeConfig;
  fanout: FanoutConfig;
  /** The ack stage: how often unacknowledged fallback deliveries are looked for. */
  ack: AckConfig;
  /** SMS and email providers, their feedback endpoints and unsubscribe links. */
  messaging: MessagingConfig;
  /** Delivery stages: shared provider policy, push channels' credentials and endpoints, the sandbox. */
  delivery: DeliveryConfig;
  /** The Spark jobs (`spark/`). */
  spark: SparkConfig;
}

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  readonly issues: { variable: string; message: string }[];
  constructor(issues: { variable: string; message: string }[]) {
    super(`invalid configuration:\n${issues.map((issue) => `  ${issue.variable}: ${issue.message}`).join('\n')}`);
    this.issues = issues;
  }
}

export function parseConfig(environment: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(
    Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== '')),
  );
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), message: issue.message })),
    );
  }
  const env = parsed.data;
  const stack = stackConfig(env);
  const { kafka, registry, cassandra, search, connect } = clustersConfig(env, stack);
  return {
    env: env.MSGXC_ENV,
    logLevel: env.MSGXC_LOG_LEVEL,
    projectRoot,
    usesLocalStack: usesLocalStack(env),
    stack,
    kafka,
    registry,
    cassandra,
    search,
    connect,
    http: httpConfig(env),
    auth: authConfig(env, env.MSGXC_ENV === 'production'),
    devices: devicesConfig(env, env.MSGXC_ENV === 'production'),
    ws: wsConfig(env),
    metrics: { host: env.MSGXC_METRICS_HOST, port: env.MSGXC_METRICS_PORT },
    runtime: runtimeConfig(env),
    fanout: fanoutConfig(env),
    ack: ackConfig(env),
    messaging: messagingConfig(env, env.MSGXC_ENV === 'production'),
    delivery: deliveryConfig(env),
    spark: sparkConfig(env, stack.cacheDir),
  };
}

let loaded: Config | undefined;

/** Parses `process.env` once per process; the result is passed down from entry points. */
export function loadConfig(): Config {
  loaded ??= parseConfig(process.env);
  return loaded;
}
