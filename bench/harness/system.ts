import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type AudienceIndex, audienceIndexName, createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import { createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { registerSchemas } from '../../pipeline/serde/index.ts';
import { ensureTopics } from '../../pipeline/topics/index.ts';
import { freePort } from './ports.ts';
import { type MsgxcProcess, type SpawnOptions, spawnMsgxc } from './processes.ts';

/**
 * One msgxc deployment per test file, on the real servers, as separate processes:
 *   stages    `msgxc run prioritize triage.lane4 … fanout ack audience` (every shared-group stage)
 *   gateway   `msgxc run gateway` (per-instance group; serves the WebSocket port)
 *   scheduler `msgxc scheduler`
 *   http      `msgxc http`
 * configured only through the environment: its own topic prefix, keyspace, index prefix, JWT secret and
 * free ports. `prepare` does what `msgxc migrate` and `msgxc topics` do, in-process.
 */

export const jwtSecret = 'e2e-tests-secret-that-is-long-enough-for-hs256';

/** Every stage that consumes with a shared group; the gateway runs in a process of its own. */
export const pipelineStages = [
  'prioritize',
  'triage.lane4',
  'triage.lane3',
  'triage.lane2',
  'triage.lane1',
  'fanout.urgent',
  'fanout',
  'fanout.bulk',
  'ack',
  'audience',
];

export type Role = 'stages' | 'gateway' | 'scheduler' | 'http';
export const roles: Role[] = ['gateway', 'stages', 'scheduler', 'http'];

export interface System {
  config: Config;
  env: Record<string, string | undefined>;
  httpUrl: string;
  wsUrl: string;
  logDir: string;
  index: AudienceIndex;
  processes: Map<Role, MsgxcProcess>;
  /** Starts one role's process and waits until it says it is serving. */
  start(role: Role): Promise<MsgxcProcess>;
  /** SIGKILL, no goodbye. */
  kill(role: Role): Promise<void>;
  /** Stops every child (SIGTERM, then SIGKILL) and removes the keyspace, topics, subjects and index. */
  teardown(): Promise<void>;
}

export { freePort } from './ports.ts';

export async function createSystem(
  extra: Record<string, string> = {},
  spawnOptions: SpawnOptions = {},
): Promise<System> {
  const suffix = randomBytes(4).toString('hex');
  const [httpPort, wsPort, ...metricsPorts] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
  const env: Record<string, string | undefined> = {
    ...process.env,
    MSGXC_ENV: 'test',
    MSGXC_LOG_LEVEL: 'info',
    MSGXC_TOPIC_PREFIX: `t-e2e-${suffix}.`,
    MSGXC_KAFKA_CLIENT_ID: `msgxc-e2e-${suffix}`,
    MSGXC_CASSANDRA_KEYSPACE: `e2e_${suffix}`,
    MSGXC_SEARCH_INDEX_PREFIX: `e2e-${suffix}`,
    MSGXC_JWT_SECRET: jwtSecret,
    // Load and crash tests publish as fast as they can from a few users: no facade rate limits here.
    MSGXC_HTTP_RATE_USER_PER_SECOND: '0',
    MSGXC_HTTP_RATE_TOKEN_PER_SECOND: '0',
    MSGXC_HTTP_RATE_THREAD_PER_MINUTE: '0',
    MSGXC_HTTP_PORT: String(httpPort),
    MSGXC_WS_PORT: String(wsPort),
    // A SIGKILLed member holds its partitions until its session times out: keep that short.
    MSGXC_RUNTIME_SESSION_TIMEOUT_MS: '10000',
    MSGXC_RUNTIME_HEARTBEAT_MS: '1000',
    MSGXC_RUNTIME_MAX_WAIT_MS: '250',
    MSGXC_RUNTIME_LAG_SAMPLE_MS: '2000',
    MSGXC_RUNTIME_SHUTDOWN_TIMEOUT_MS: '10000',
    ...extra,
  };
  const config = parseConfig({ ...env, MSGXC_LOG_LEVEL: 'warn' });
  const metricsPort: Record<Role, string> = {
    stages: String(metricsPorts[0]),
    gateway: String(metricsPorts[1]),
    scheduler: String(metricsPorts[2]),
    http: String(metricsPorts[3]),
  };
  const logDir = join(tmpdir(), `msgxc-e2e-${suffix}`);
  mkdirSync(logDir, { recursive: true });
  const index = createAudienceIndex(config);
  const processes = new Map<Role, MsgxcProcess>();
  const starts = new Map<Role, number>();

  const argsOf: Record<Role, string[]> = {
    stages: ['run', ...pipelineStages],
    gateway: ['run', 'gateway'],
    scheduler: ['scheduler'],
    http: ['http'],
  };
  const readyLine: Record<Role, RegExp> = {
    stages: /"msg":"stages running"/,
    gateway: /"msg":"stages running"/,
    scheduler: /"msg":"scheduler serving metrics"/,
    http: /"msg":"HTTP facade listening"/,
  };

  const system: System = {
    config,
    env,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    wsUrl: `ws://127.0.0.1:${wsPort}${config.ws.path}`,
    logDir,
    index,
    processes,
    async start(role) {
      const previous = processes.get(role);
      if (previous && previous.child.exitCode === null && previous.child.signalCode === null) {
        throw new Error(`${role} is already running`);
      }
      const generation = (starts.get(role) ?? 0) + 1;
      starts.set(role, generation);
      const child = spawnMsgxc(
        `${role}-${generation}`,
        argsOf[role],
        { ...env, MSGXC_METRICS_PORT: metricsPort[role], MSGXC_KAFKA_CLIENT_ID: `msgxc-e2e-${suffix}-${role}` },
        logDir,
        spawnOptions,
      );
      processes.set(role, child);
      await child.waitForLog(readyLine[role], 180_000);
      return child;
    },
    async kill(role) {
      await processes.get(role)?.kill();
    },
    async teardown() {
      await Promise.allSettled([...processes.values()].map((child) => child.stop()));
      await dropEverything(config, index);
    },
  };
  return system;
}

/** `msgxc migrate` + `msgxc topics` (schemas and every topic of the table) + the audience index. */
export async function prepare(system: System): Promise<void> {
  const log = createLogger(system.config, 'e2e');
  await migrate(system.config, { log });
  await registerSchemas(system.config);
  await ensureTopics(system.config, undefined, { log });
  await system.index.ensureIndex();
}

async function dropEverything(config: Config, index: AudienceIndex): Promise<void> {
  const failures: unknown[] = [];
  const attempt = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      failures.push(error);
    }
  };
  await attempt(async () => {
    await index.adapter.deleteIndex(audienceIndexName(config));
  });
  await attempt(() => index.close());
  await attempt(async () => {
    const client = createCassandra(config, { keyspace: 'system' });
    try {
      await client.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`);
    } finally {
      await client.shutdown();
    }
  });
  await attempt(async () => {
    const admin = new Kafka({
      brokers: config.kafka.brokers,
      clientId: 'e2e-cleanup',
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
      // Every consumer group of this deployment and of the test's watchers is named after the prefix too.
      const groups = (await admin.listGroups()).groups
        .map((group) => group.groupId)
        .filter((groupId) => groupId.startsWith(config.kafka.topicPrefix));
      if (groups.length > 0) await admin.deleteGroups(groups);
    } finally {
      await admin.disconnect();
    }
  });
  await attempt(async () => {
    const subjects = (await (await fetch(`${config.registry.url}/subjects`)).json()) as string[];
    for (const subject of subjects.filter((name) => name.startsWith(config.kafka.topicPrefix))) {
      const url = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
      await (await fetch(url, { method: 'DELETE' })).body?.cancel();
      await (await fetch(`${url}?permanent=true`, { method: 'DELETE' })).body?.cancel();
    }
  });
  if (failures.length > 0) console.warn('e2e cleanup left something behind:', failures);
}
