import { randomBytes } from 'node:crypto';
import { Client } from 'cassandra-driver';
import { clientOptions, createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';

/**
 * Runs `work` with a client on a freshly migrated keyspace of its own (`<prefix>_<random>`), then shuts the
 * client down and drops the keyspace, whatever `work` did: a bench leaves no tables behind.
 */
export async function withBenchKeyspace<T>(
  base: Config,
  prefix: string,
  work: (client: Client, config: Config) => Promise<T>,
): Promise<T> {
  const keyspace = `${prefix}_${randomBytes(4).toString('hex')}`;
  const config: Config = { ...base, cassandra: { ...base.cassandra, keyspace } };
  await migrate(config, { log: createLogger({ logLevel: 'warn' }, 'bench') });
  const client = createCassandra(config);
  try {
    return await work(client, config);
  } finally {
    await client.shutdown();
    const admin = new Client(clientOptions(config, null));
    try {
      await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
    } catch (error) {
      console.error(`could not drop keyspace ${keyspace}:`, error);
    } finally {
      await admin.shutdown();
    }
  }
}
