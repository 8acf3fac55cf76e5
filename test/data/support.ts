import { randomBytes } from 'node:crypto';
import { Client } from 'cassandra-driver';
import { pino } from 'pino';
import { clientOptions, createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';

/** A logger that swallows everything: migrate's progress lines would drown the test output. */
export const quiet = pino({ level: 'silent' });

export function testConfig(keyspace = `msgxc_test_${randomBytes(5).toString('hex')}`): Config {
  return parseConfig({ ...process.env, MSGXC_CASSANDRA_KEYSPACE: keyspace, MSGXC_LOG_LEVEL: 'warn' });
}

export async function dropKeyspace(config: Config): Promise<void> {
  const admin = new Client(clientOptions(config, null));
  try {
    await admin.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`, [], { prepare: false });
  } finally {
    await admin.shutdown();
  }
}

export interface TestKeyspace {
  config: Config;
  client: Client;
  /** Shuts the client down and drops the keyspace. */
  dispose(): Promise<void>;
}

/** A freshly migrated keyspace of its own (`msgxc_test_<random>`) and a client bound to it. */
export async function createTestKeyspace(): Promise<TestKeyspace> {
  const config = testConfig();
  await migrate(config, { log: quiet });
  const client = createCassandra(config);
  await client.connect();
  return {
    config,
    client,
    async dispose() {
      await client.shutdown();
      await dropKeyspace(config);
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
