import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The one place that reads the environment. Everything else receives a parsed `Config`.
 * Defaults point at the local stack (`npm run stack -- up`); setting a cluster's URL points
 * the system at an existing cluster instead, and `npm start` then leaves the local stack alone.
 */

const port = z.coerce.number().int().min(1).max(65535);
const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const projectRoot = resolve(import.meta.dirname, '..', '..');

const envSchema = z.object({
  MSGXC_ENV: z.enum(['development', 'test', 'production']).default('development'),
  MSGXC_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

  // Local stack: where jars are cached, where data and logs live, and the ports it binds.
  MSGXC_CACHE_DIR: z.string().default(join(homedir(), '.cache', 'msgxc')),
  MSGXC_STATE_DIR: z.string().default(join(projectRoot, '.stack')),
  MSGXC_KAFKA_PORT: port.default(9092),
  MSGXC_KAFKA_CONTROLLER_PORT: port.default(9093),
  MSGXC_REGISTRY_PORT: port.default(8081),
  MSGXC_CASSANDRA_PORT: port.default(9042),
  MSGXC_CASSANDRA_STORAGE_PORT: port.default(7000),
  MSGXC_SEARCH_PORT: port.default(9200),
  // Published by docker-compose's optional Elasticsearch; point MSGXC_SEARCH_URL at it to use it.
  MSGXC_ELASTICSEARCH_PORT: port.default(9201),
  MSGXC_JAVA_HOME: z.string().optional(),
  JAVA_HOME: z.string().optional(),

  // Clusters. Unset means "the local stack".
  MSGXC_KAFKA_BROKERS: list.optional(),
  MSGXC_KAFKA_CLIENT_ID: z.string().default('msgxc'),
  MSGXC_SCHEMA_REGISTRY_URL: z.url().optional(),
  MSGXC_CASSANDRA_CONTACT_POINTS: list.optional(),
  MSGXC_CASSANDRA_KEYSPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,47}$/, 'lower-case letters, digits and _, starting with a letter')
    .default('msgxc'),
  MSGXC_CASSANDRA_DC: z.string().default('datacenter1'),
  MSGXC_CASSANDRA_REPLICATION: z.coerce.number().int().min(1).default(1),
  MSGXC_SEARCH_URL: z.url().optional(),
  MSGXC_SEARCH_ENGINE: z.enum(['opensearch', 'elasticsearch']).default('opensearch'),
  MSGXC_SEARCH_INDEX_PREFIX: z.string().default('msgxc'),
  // A real Elasticsearch 8 cluster for the Elasticsearch adapter's integration tests; unset skips them.
  MSGXC_TEST_ELASTICSEARCH_URL: z.url().optional(),
  MSGXC_TOPIC_PREFIX: z.string().default(''),

  // The system's own listeners.
  MSGXC_HTTP_HOST: z.string().default('127.0.0.1'),
  MSGXC_HTTP_PORT: port.default(8080),
  MSGXC_WS_PORT: port.default(8090),
  MSGXC_METRICS_PORT: port.default(9464),

  // HTTP facade: limits, Web Push endpoint allowlist (tests' local receivers), idempotency window.
  MSGXC_HTTP_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(65_536),
  MSGXC_MESSAGE_MAX_BYTES: z.coerce.number().int().min(16).default(4096),
  MSGXC_WEBPUSH_ALLOWED_HOSTS: list.optional(),
  MSGXC_IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(1).default(86_400),

  // JWT verification (HTTP facade and WebSocket gateway). HS256 uses the shared secret; RS256/ES256 the JWKS URL.
  MSGXC_JWT_ALGORITHM: z.enum(['HS256', 'RS256', 'ES256']).default('HS256'),
  MSGXC_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  MSGXC_JWT_JWKS_URL: z.url().optional(),
  MSGXC_JWT_ISSUER: z.string().optional(),
  MSGXC_JWT_AUDIENCE: z.string().optional(),
  MSGXC_JWT_LEEWAY_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  MSGXC_JWT_ROLES_CLAIM: z.string().default('roles'),
  MSGXC_JWT_ADMIN_ROLE: z.string().default('admin'),
  MSGXC_JWT_SERVICE_ROLE: z.string().default('service'),

  MSGXC_START_STACK: bool.optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface StackConfig {
  cacheDir: string;
  stateDir: string;
  javaHome: string | undefined;
  ports: {
    kafka: number;
    kafkaController: number;
    registry: number;
    cassandra: number;
    cassandraStorage: number;
    search: number;
  };
}

export interface Config {
  env: Env['MSGXC_ENV'];
  logLevel: Env['MSGXC_LOG_LEVEL'];
  projectRoot: string;
  /** True when every cluster is the local stack, so `npm start` should bring it up. */
  usesLocalStack: boolean;
  stack: StackConfig;
  kafka: { brokers: string[]; clientId: string; topicPrefix: string };
  registry: { url: string };
  cassandra: { contactPoints: string[]; keyspace: string; localDataCenter: string; replication: number };
  search: {
    url: string;
    engine: 'opensearch' | 'elasticsearch';
    indexPrefix: string;
    /** Elasticsearch 8 URL the Elasticsearch adapter's tests run against; undefined skips them. */
    testElasticsearchUrl: string | undefined;
  };
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    messageMaxBytes: number;
    /** Hosts (`name` or `name:port`) whose Web Push endpoints skip the private-address check. */
    webPushAllowedHosts: string[];
    idempotencyTtlSeconds: number;
  };
  auth: {
    algorithm: 'HS256' | 'RS256' | 'ES256';
    /** HS256 shared secret; undefined unless configured. */
    secret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    leewaySeconds: number;
    rolesClaim: string;
    adminRole: string;
    serviceRole: string;
  };
  ws: { port: number };
  metrics: { port: number };
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
  const external =
    env.MSGXC_KAFKA_BROKERS !== undefined ||
    env.MSGXC_SCHEMA_REGISTRY_URL !== undefined ||
    env.MSGXC_CASSANDRA_CONTACT_POINTS !== undefined ||
    env.MSGXC_SEARCH_URL !== undefined;
  return {
    env: env.MSGXC_ENV,
    logLevel: env.MSGXC_LOG_LEVEL,
    projectRoot,
    usesLocalStack: env.MSGXC_START_STACK ?? !external,
    stack: {
      cacheDir: resolve(env.MSGXC_CACHE_DIR),
      stateDir: resolve(env.MSGXC_STATE_DIR),
      javaHome: env.MSGXC_JAVA_HOME ?? env.JAVA_HOME,
      ports: {
        kafka: env.MSGXC_KAFKA_PORT,
        kafkaController: env.MSGXC_KAFKA_CONTROLLER_PORT,
        registry: env.MSGXC_REGISTRY_PORT,
        cassandra: env.MSGXC_CASSANDRA_PORT,
        cassandraStorage: env.MSGXC_CASSANDRA_STORAGE_PORT,
        search: env.MSGXC_SEARCH_PORT,
      },
    },
    kafka: {
      brokers: env.MSGXC_KAFKA_BROKERS ?? [`127.0.0.1:${env.MSGXC_KAFKA_PORT}`],
      clientId: env.MSGXC_KAFKA_CLIENT_ID,
      topicPrefix: env.MSGXC_TOPIC_PREFIX,
    },
    registry: { url: env.MSGXC_SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${env.MSGXC_REGISTRY_PORT}/apis/ccompat/v7` },
    cassandra: {
      contactPoints: env.MSGXC_CASSANDRA_CONTACT_POINTS ?? [`127.0.0.1:${env.MSGXC_CASSANDRA_PORT}`],
      keyspace: env.MSGXC_CASSANDRA_KEYSPACE,
      localDataCenter: env.MSGXC_CASSANDRA_DC,
      replication: env.MSGXC_CASSANDRA_REPLICATION,
    },
    search: {
      url: env.MSGXC_SEARCH_URL ?? `http://127.0.0.1:${env.MSGXC_SEARCH_PORT}`,
      engine: env.MSGXC_SEARCH_ENGINE,
      indexPrefix: env.MSGXC_SEARCH_INDEX_PREFIX,
      testElasticsearchUrl: env.MSGXC_TEST_ELASTICSEARCH_URL,
    },
    http: {
      host: env.MSGXC_HTTP_HOST,
      port: env.MSGXC_HTTP_PORT,
      bodyLimitBytes: env.MSGXC_HTTP_BODY_LIMIT_BYTES,
      messageMaxBytes: env.MSGXC_MESSAGE_MAX_BYTES,
      webPushAllowedHosts: env.MSGXC_WEBPUSH_ALLOWED_HOSTS ?? [],
      idempotencyTtlSeconds: env.MSGXC_IDEMPOTENCY_TTL_SECONDS,
    },
    auth: {
      algorithm: env.MSGXC_JWT_ALGORITHM,
      secret: env.MSGXC_JWT_SECRET,
      jwksUrl: env.MSGXC_JWT_JWKS_URL,
      issuer: env.MSGXC_JWT_ISSUER,
      audience: env.MSGXC_JWT_AUDIENCE,
      leewaySeconds: env.MSGXC_JWT_LEEWAY_SECONDS,
      rolesClaim: env.MSGXC_JWT_ROLES_CLAIM,
      adminRole: env.MSGXC_JWT_ADMIN_ROLE,
      serviceRole: env.MSGXC_JWT_SERVICE_ROLE,
    },
    ws: { port: env.MSGXC_WS_PORT },
    metrics: { port: env.MSGXC_METRICS_PORT },
  };
}

let loaded: Config | undefined;

/** Parses `process.env` once per process; the result is passed down from entry points. */
export function loadConfig(): Config {
  loaded ??= parseConfig(process.env);
  return loaded;
}
