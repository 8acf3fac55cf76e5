import { z } from 'zod';
import { bool, list } from './env.ts';
import type { StackConfig } from './stack.ts';

/** The clusters msgxc talks to. Unset means "the local stack", on the ports in `StackConfig`. */
export const clustersEnv = z.object({
  MSGXC_KAFKA_BROKERS: list.optional(),
  MSGXC_KAFKA_CLIENT_ID: z.string().default('msgxc'),
  // The client behind the stages' producer (pipeline/kafka/README.md); the HTTP facade and consumers use kafkajs.
  MSGXC_KAFKA_PRODUCER_CLIENT: z.enum(['platformatic', 'kafkajs']).default('platformatic'),
  // How long a record of a waiting caller (the facade, services) waits for others to share its produce request.
  MSGXC_KAFKA_REQUEST_LINGER_MS: z.coerce.number().int().min(0).max(100).default(0),
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
  // How long an audience walk rides out an engine outage (reopening its point in time) before it fails.
  MSGXC_SEARCH_RESUME_WITHIN_MS: z.coerce.number().int().min(0).default(300_000),
  // How long a point in time stays open between two pages.
  MSGXC_SEARCH_PIT_KEEP_ALIVE: z
    .string()
    .regex(/^[1-9][0-9]*(ms|s|m)$/, 'a duration such as 30s or 2m')
    .default('2m'),
  MSGXC_TOPIC_PREFIX: z.string().default(''),
  // The Kafka Connect cluster's REST API the sink connectors are applied to (`msgxc connectors`).
  MSGXC_CONNECT_URL: z.url().optional(),
  // Replicas of the topics Connect creates for the sinks (their dead-letter queues); 1 on the local stack.
  MSGXC_CONNECT_REPLICATION: z.coerce.number().int().min(1).default(1),
  // Forces `npm start` to bring the local stack up (or not), whatever the cluster URLs say.
  MSGXC_START_STACK: bool.optional(),
});

type ClustersEnv = z.infer<typeof clustersEnv>;

export interface ClustersConfig {
  kafka: {
    brokers: string[];
    clientId: string;
    topicPrefix: string;
    /** The client behind the `pipeline` producer profile (stages, gateway, scheduler, ack sweep, retry queue). */
    producerClient: 'platformatic' | 'kafkajs';
    /** The `request` profile's linger (pipeline/kafka/README.md); 0 waits for the end of the event-loop turn only. */
    requestLingerMs: number;
  };
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
  /** `apply`: `npm start` applies the sinks (a Connect URL is set, or the local stack runs one). */
  connect: { url: string; replication: number; apply: boolean };
  search: {
    url: string;
    engine: 'opensearch' | 'elasticsearch';
    indexPrefix: string;
    /** Elasticsearch 8 URL the Elasticsearch adapter's tests run against; undefined skips them. */
    testElasticsearchUrl: string | undefined;
    /** Primary shards and replicas of the audience index when it is created. */
    shards: number;
    replicas: number;
    /** How long an audience walk rides out an engine outage, reopening its point in time, before it fails. */
    resumeWithinMs: number;
    /** How long a point in time stays open between two pages. */
    pitKeepAlive: string;
  };
}

/** True when every cluster is the local stack (or MSGXC_START_STACK says so), so `npm start` should bring it up. */
export function usesLocalStack(env: ClustersEnv): boolean {
  const external =
    env.MSGXC_KAFKA_BROKERS !== undefined ||
    env.MSGXC_SCHEMA_REGISTRY_URL !== undefined ||
    env.MSGXC_CASSANDRA_CONTACT_POINTS !== undefined ||
    env.MSGXC_SEARCH_URL !== undefined ||
    env.MSGXC_CONNECT_URL !== undefined;
  return env.MSGXC_START_STACK ?? !external;
}

export function clustersConfig(env: ClustersEnv, stack: StackConfig): ClustersConfig {
  return {
    kafka: {
      brokers: env.MSGXC_KAFKA_BROKERS ?? [`127.0.0.1:${stack.ports.kafka}`],
      clientId: env.MSGXC_KAFKA_CLIENT_ID,
      topicPrefix: env.MSGXC_TOPIC_PREFIX,
      producerClient: env.MSGXC_KAFKA_PRODUCER_CLIENT,
      requestLingerMs: env.MSGXC_KAFKA_REQUEST_LINGER_MS,
    },
    registry: { url: env.MSGXC_SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${stack.ports.registry}/apis/ccompat/v7` },
    cassandra: {
      contactPoints: env.MSGXC_CASSANDRA_CONTACT_POINTS ?? [`127.0.0.1:${stack.ports.cassandra}`],
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
    connect: {
      url: (env.MSGXC_CONNECT_URL ?? `http://127.0.0.1:${stack.ports.connect}`).replace(/\/+$/, ''),
      replication: env.MSGXC_CONNECT_REPLICATION,
      apply: env.MSGXC_CONNECT_URL !== undefined || usesLocalStack(env),
    },
    search: {
      url: env.MSGXC_SEARCH_URL ?? `http://127.0.0.1:${stack.ports.search}`,
      engine: env.MSGXC_SEARCH_ENGINE,
      indexPrefix: env.MSGXC_SEARCH_INDEX_PREFIX,
      testElasticsearchUrl: env.MSGXC_TEST_ELASTICSEARCH_URL,
      shards: env.MSGXC_SEARCH_SHARDS,
      replicas: env.MSGXC_SEARCH_REPLICAS,
      resumeWithinMs: env.MSGXC_SEARCH_RESUME_WITHIN_MS,
      pitKeepAlive: env.MSGXC_SEARCH_PIT_KEEP_ALIVE,
    },
  };
}
