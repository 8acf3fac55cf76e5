import { auth, Client, type ClientOptions, types } from 'cassandra-driver';
import type { Config } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';

/** Keyspace names are interpolated into CQL, so they are checked here as well as in the config. */
const keyspacePattern = /^[a-z][a-z0-9_]{0,47}$/;

export function assertKeyspaceName(keyspace: string): string {
  if (!keyspacePattern.test(keyspace)) {
    throw new MsgxcError('CASSANDRA_BAD_KEYSPACE', `not a keyspace name: ${JSON.stringify(keyspace)}`);
  }
  return keyspace;
}

/**
 * Driver options shared by every client. Timeouts: connecting gives up after 5 s; a request after
 * 12 s, which is above Cassandra's own read (5 s) and write (2 s) timeouts so the server's answer,
 * not ours, reports a slow replica. Statements are prepared by default (bound values, no CQL
 * injection, token-aware routing); reads and writes use LOCAL_QUORUM and LWTs LOCAL_SERIAL, so a
 * multi-DC cluster never waits on a remote data centre.
 */
export function clientOptions(config: Pick<Config, 'cassandra'>, keyspace: string | null): ClientOptions {
  const { contactPoints, localDataCenter, credentials } = config.cassandra;
  return {
    contactPoints,
    localDataCenter,
    ...(keyspace !== null && { keyspace: assertKeyspaceName(keyspace) }),
    ...(credentials !== null && {
      authProvider: new auth.PlainTextAuthProvider(credentials.username, credentials.password),
    }),
    queryOptions: {
      prepare: true,
      consistency: types.consistencies.localQuorum,
      serialConsistency: types.consistencies.localSerial,
      fetchSize: 500,
    },
    socketOptions: { connectTimeout: 5_000, readTimeout: 12_000, keepAlive: true },
    pooling: { heartBeatInterval: 30_000 },
    protocolOptions: { maxSchemaAgreementWaitSeconds: 30 },
    encoding: { useUndefinedAsUnset: true },
  };
}

/**
 * A client bound to the configured keyspace (which `msgxc migrate` creates). It connects lazily on
 * the first query; call `shutdown()` when done.
 */
export function createCassandra(config: Pick<Config, 'cassandra'>, options: { keyspace?: string } = {}): Client {
  return new Client(clientOptions(config, options.keyspace ?? config.cassandra.keyspace));
}

/** The replication clause `migrate` creates the keyspace with (see the README of this folder). */
export function replicationClause(config: Pick<Config, 'cassandra'>): string {
  const { replicationByDataCenter, replication } = config.cassandra;
  if (replicationByDataCenter !== null) {
    const dataCentres = Object.entries(replicationByDataCenter).map(
      ([dataCentre, replicas]) => `'${dataCentre.replaceAll("'", "''")}': ${replicas}`,
    );
    return `{'class': 'NetworkTopologyStrategy', ${dataCentres.join(', ')}}`;
  }
  return `{'class': 'SimpleStrategy', 'replication_factor': ${replication}}`;
}
