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
  // Names data centres and their replicas, e.g. "dc1:3,dc2:3": the keyspace is then created with
  // NetworkTopologyStrategy; unset, it uses SimpleStrategy with MSGXC_CASSANDRA_REPLICATION.
  MSGXC_CASSANDRA_REPLICATION_DCS: list
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9_.-]+:[1-9][0-9]*$/, 'a list of <data centre>:<replicas>')))
    .optional(),
  MSGXC_CASSANDRA_USERNAME: z.string().optional(),
  MSGXC_CASSANDRA_PASSWORD: z.string().optional(),
  MSGXC_SEARCH_URL: z.url().optional(),
  MSGXC_SEARCH_ENGINE: z.enum(['opensearch', 'elasticsearch']).default('opensearch'),
  MSGXC_SEARCH_INDEX_PREFIX: z.string().default('msgxc'),
  // A real Elasticsearch 8 cluster for the Elasticsearch adapter's integration tests; unset skips them.
  MSGXC_TEST_ELASTICSEARCH_URL: z.url().optional(),
  // The audience index's layout; the local stack is one node, so no replicas by default.
  MSGXC_SEARCH_SHARDS: z.coerce.number().int().min(1).default(1),
  MSGXC_SEARCH_REPLICAS: z.coerce.number().int().min(0).default(0),
  MSGXC_TOPIC_PREFIX: z.string().default(''),

  // The system's own listeners.
  MSGXC_HTTP_HOST: z.string().default('127.0.0.1'),
  MSGXC_HTTP_PORT: port.default(8080),
  MSGXC_WS_PORT: port.default(8090),
  // WebSocket gateway (stages/gateway): limits that bound what one connection can cost.
  MSGXC_WS_HOST: z.string().default('127.0.0.1'),
  MSGXC_WS_PATH: z.string().startsWith('/').default('/ws'),
  MSGXC_WS_MAX_PAYLOAD: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  MSGXC_WS_HEARTBEAT_MS: z.coerce.number().int().min(50).default(30_000),
  MSGXC_WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  MSGXC_WS_MAX_INVALID_FRAMES: z.coerce.number().int().min(1).default(10),
  MSGXC_WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).default(100),
  MSGXC_WS_QUERY_TOKEN: bool.default(false),
  MSGXC_WS_ALLOWED_ORIGINS: list.optional(),
  MSGXC_METRICS_PORT: port.default(9464),

  // Stage runtime (pipeline/runtime): retry budget, delayed retries, consumer tuning, shutdown.
  MSGXC_RUNTIME_RETRY_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  MSGXC_RUNTIME_RETRY_BASE_MS: z.coerce.number().int().min(1).default(200),
  MSGXC_RUNTIME_RETRY_MAX_MS: z.coerce.number().int().min(1).default(5_000),
  MSGXC_RUNTIME_DELAYED_ATTEMPTS: z.coerce.number().int().min(0).default(5),
  MSGXC_RUNTIME_DELAYED_BASE_MS: z.coerce.number().int().min(1).default(10_000),
  MSGXC_RUNTIME_DELAYED_MAX_MS: z.coerce.number().int().min(1).default(600_000),
  MSGXC_RUNTIME_HANDLER_BATCH: z.coerce.number().int().min(1).default(1_000),
  // Bytes per produce call; keep under the broker's message.max.bytes (1 MiB by default), which bounds a partition's batch.
  MSGXC_RUNTIME_MAX_PRODUCE_BYTES: z.coerce.number().int().min(1024).default(900_000),
  // Within a long fetched batch, commit at most this often (always at its end and on shutdown); 0 = every chunk.
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

  // Fanout (stages/fanout): audience paging, slicing of large audiences, batch sizes per channel
  // (defaults match the providers' batch APIs: FCM 500, SES bulk 50; APNs, Web Push and SMS are one
  // request per device, batched by 100), and the ack stage's escalation sweep.
  MSGXC_FANOUT_PAGE_SIZE: z.coerce.number().int().min(1).max(10_000).default(1_000),
  // Above this many users a broadcast is cut into slice jobs that several consumers share (parallelism only:
  // a slice streams through one handler call in bounded memory, whatever its size).
  MSGXC_FANOUT_SLICE_USERS: z.coerce.number().int().min(1).default(100_000),
  MSGXC_FANOUT_MAX_DEVICES: z.coerce.number().int().min(1).max(100).default(10),
  MSGXC_FANOUT_WS_REACHABILITY: z.enum(['always', 'presence']).default('always'),
  MSGXC_FANOUT_BATCH_WS: z.coerce.number().int().min(1).default(500),
  MSGXC_FANOUT_BATCH_WEBPUSH: z.coerce.number().int().min(1).default(100),
  MSGXC_FANOUT_BATCH_APNS: z.coerce.number().int().min(1).default(100),
  MSGXC_FANOUT_BATCH_FCM: z.coerce.number().int().min(1).max(500).default(500),
  MSGXC_FANOUT_BATCH_SMS: z.coerce.number().int().min(1).default(100),
  MSGXC_FANOUT_BATCH_EMAIL: z.coerce.number().int().min(1).max(50).default(50),
  MSGXC_ESCALATION_SWEEP_MS: z.coerce.number().int().min(50).default(5_000),

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
  cassandra: {
    contactPoints: string[];
    keyspace: string;
    localDataCenter: string;
    replication: number;
    /** Replicas per named data centre (NetworkTopologyStrategy); null means SimpleStrategy with `replication`. */
    replicationByDataCenter: Record<string, number> | null;
    credentials: { username: string; password: string } | null;
  };
  search: {
    url: string;
    engine: 'opensearch' | 'elasticsearch';
    indexPrefix: string;
    /** Elasticsearch 8 URL the Elasticsearch adapter's tests run against; undefined skips them. */
    testElasticsearchUrl: string | undefined;
    /** Primary shards and replicas of the audience index when it is created. */
    shards: number;
    replicas: number;
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
    /** HS256 shared secret; outside production a public development default when not configured. */
    secret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    leewaySeconds: number;
    rolesClaim: string;
    adminRole: string;
    serviceRole: string;
  };
  ws: {
    port: number;
    host: string;
    path: string;
    /** Largest client frame in bytes; bigger ones close the socket with 1009. */
    maxPayload: number;
    /** Ping interval; a socket that has not answered the previous ping is terminated. */
    heartbeatMs: number;
    /** Slow-consumer limit: past this many unsent bytes the socket is closed with 4008. */
    maxBufferedBytes: number;
    /** Invalid frames tolerated per minute before closing with 1008. */
    maxInvalidFrames: number;
    /** Live thread subscriptions per connection. */
    maxSubscriptions: number;
    /** Accept `?access_token=` on the upgrade URL (off: query strings land in access logs). */
    queryToken: boolean;
    /** When set, the upgrade's `Origin` must be one of these. */
    allowedOrigins: string[] | null;
  };
  metrics: { port: number };
  runtime: RuntimeConfig;
  fanout: FanoutConfig;
  /** The ack stage: how often unacknowledged fallback deliveries are looked for. */
  ack: { escalationSweepMs: number };
}

/** The fanout stage's paging, slicing and batching. */
export interface FanoutConfig {
  /** Audience documents per index page. */
  pageSize: number;
  /** Audiences counted above this many users are cut into slice jobs of about this size, for parallelism. */
  sliceUsers: number;
  /** Most devices of one user reached per push channel. */
  maxDevicesPerChannel: number;
  /** `always`: ws deliveries for every ws-allowed recipient; `presence`: only for users with a realtime client enlisted. */
  wsReachability: 'always' | 'presence';
  /** Recipients per DeliveryBatch, per channel. */
  batchSizes: { ws: number; webpush: number; apns: number; fcm: number; sms: number; email: number };
}

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
  /** Commit at most this often inside a fetched batch (always at its end); bounds the rework after a crash. */
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
}

/** The HS256 secret outside production when none is configured: public, so never for real users. */
export const developmentJwtSecret = 'msgxc-development-secret-do-not-use-in-production';

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
      replicationByDataCenter: env.MSGXC_CASSANDRA_REPLICATION_DCS
        ? Object.fromEntries(
            env.MSGXC_CASSANDRA_REPLICATION_DCS.map((entry) => {
              const at = entry.lastIndexOf(':');
              return [entry.slice(0, at), Number(entry.slice(at + 1))];
            }),
          )
        : null,
      credentials:
        env.MSGXC_CASSANDRA_USERNAME !== undefined
          ? { username: env.MSGXC_CASSANDRA_USERNAME, password: env.MSGXC_CASSANDRA_PASSWORD ?? '' }
          : null,
    },
    search: {
      url: env.MSGXC_SEARCH_URL ?? `http://127.0.0.1:${env.MSGXC_SEARCH_PORT}`,
      engine: env.MSGXC_SEARCH_ENGINE,
      indexPrefix: env.MSGXC_SEARCH_INDEX_PREFIX,
      testElasticsearchUrl: env.MSGXC_TEST_ELASTICSEARCH_URL,
      shards: env.MSGXC_SEARCH_SHARDS,
      replicas: env.MSGXC_SEARCH_REPLICAS,
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
      // Development and test get a well-known secret so `npm start` works out of the box; production must set one.
      secret: env.MSGXC_JWT_SECRET ?? (env.MSGXC_ENV === 'production' ? undefined : developmentJwtSecret),
      jwksUrl: env.MSGXC_JWT_JWKS_URL,
      issuer: env.MSGXC_JWT_ISSUER,
      audience: env.MSGXC_JWT_AUDIENCE,
      leewaySeconds: env.MSGXC_JWT_LEEWAY_SECONDS,
      rolesClaim: env.MSGXC_JWT_ROLES_CLAIM,
      adminRole: env.MSGXC_JWT_ADMIN_ROLE,
      serviceRole: env.MSGXC_JWT_SERVICE_ROLE,
    },
    ws: {
      port: env.MSGXC_WS_PORT,
      host: env.MSGXC_WS_HOST,
      path: env.MSGXC_WS_PATH,
      maxPayload: env.MSGXC_WS_MAX_PAYLOAD,
      heartbeatMs: env.MSGXC_WS_HEARTBEAT_MS,
      maxBufferedBytes: env.MSGXC_WS_MAX_BUFFERED_BYTES,
      maxInvalidFrames: env.MSGXC_WS_MAX_INVALID_FRAMES,
      maxSubscriptions: env.MSGXC_WS_MAX_SUBSCRIPTIONS,
      queryToken: env.MSGXC_WS_QUERY_TOKEN,
      allowedOrigins: env.MSGXC_WS_ALLOWED_ORIGINS ?? null,
    },
    metrics: { port: env.MSGXC_METRICS_PORT },
    runtime: {
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
    },
    fanout: {
      pageSize: env.MSGXC_FANOUT_PAGE_SIZE,
      sliceUsers: env.MSGXC_FANOUT_SLICE_USERS,
      maxDevicesPerChannel: env.MSGXC_FANOUT_MAX_DEVICES,
      wsReachability: env.MSGXC_FANOUT_WS_REACHABILITY,
      batchSizes: {
        ws: env.MSGXC_FANOUT_BATCH_WS,
        webpush: env.MSGXC_FANOUT_BATCH_WEBPUSH,
        apns: env.MSGXC_FANOUT_BATCH_APNS,
        fcm: env.MSGXC_FANOUT_BATCH_FCM,
        sms: env.MSGXC_FANOUT_BATCH_SMS,
        email: env.MSGXC_FANOUT_BATCH_EMAIL,
      },
    },
    ack: { escalationSweepMs: env.MSGXC_ESCALATION_SWEEP_MS },
  };
}

let loaded: Config | undefined;

/** Parses `process.env` once per process; the result is passed down from entry points. */
export function loadConfig(): Config {
  loaded ??= parseConfig(process.env);
  return loaded;
}
