/**
 * Cassandra access: a configured client, the error mapping every store uses, and versioned schema
 * migrations (`msgxc migrate`). See README.md in this folder for the table design.
 */
export type { Client } from 'cassandra-driver';
export { assertKeyspaceName, clientOptions, createCassandra, replicationClause } from './client.ts';
export { cassandraError, isCassandraUnavailable } from './errors.ts';
export { type AppliedMigration, type MigrateOptions, type MigrateResult, migrate, migrationStatus } from './migrate.ts';
export { loadMigrations, type Migration, splitStatements } from './migrations.ts';
