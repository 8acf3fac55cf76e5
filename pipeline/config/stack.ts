import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { port, projectRoot } from './env.ts';

/** The local stack (`npm run stack`): where jars are cached, where data and logs live, and the ports it binds. */
export const stackEnv = z.object({
  MSGXC_CACHE_DIR: z.string().default(join(homedir(), '.cache', 'msgxc')),
  MSGXC_STATE_DIR: z.string().default(join(projectRoot, '.stack')),
  MSGXC_KAFKA_PORT: port.default(9092),
  MSGXC_KAFKA_CONTROLLER_PORT: port.default(9093),
  MSGXC_REGISTRY_PORT: port.default(8081),
  MSGXC_CASSANDRA_PORT: port.default(9042),
  MSGXC_CASSANDRA_STORAGE_PORT: port.default(7000),
  MSGXC_SEARCH_PORT: port.default(9200),
  MSGXC_CONNECT_PORT: port.default(8083),
  // Published by docker-compose's optional Elasticsearch; point MSGXC_SEARCH_URL at it to use it.
  MSGXC_ELASTICSEARCH_PORT: port.default(9201),
  MSGXC_JAVA_HOME: z.string().optional(),
  JAVA_HOME: z.string().optional(),
});

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
    connect: number;
  };
}

export function stackConfig(env: z.infer<typeof stackEnv>): StackConfig {
  return {
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
      connect: env.MSGXC_CONNECT_PORT,
    },
  };
}
