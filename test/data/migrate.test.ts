import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { clientOptions, loadMigrations, migrate, migrationStatus } from '../../pipeline/cassandra/index.ts';
import { defaultMigrationsDirectory } from '../../pipeline/cassandra/migrations.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { dropKeyspace, quiet, testConfig } from './support.ts';

const created: Config[] = [];
const fresh = () => {
  const config = testConfig();
  created.push(config);
  return config;
};

async function query(config: Config, cql: string, params: unknown[] = []) {
  const client = new Client(clientOptions(config, null));
  try {
    return (await client.execute(cql, params, { prepare: true })).rows;
  } finally {
    await client.shutdown();
  }
}

afterAll(async () => {
  for (const config of created) await dropKeyspace(config);
});

describe('msgxc migrate', () => {
  it('creates the keyspace, applies every migration in order and records version, checksum and time', async () => {
    const config = fresh();
    const files = await loadMigrations();
    const before = Date.now();

    const result = await migrate(config, { log: quiet });

    expect(result.applied.map((m) => m.version)).toEqual(files.map((m) => m.version));
    const rows = await query(
      config,
      `SELECT version, name, checksum, applied_at, applied_by FROM ${config.cassandra.keyspace}.schema_migrations WHERE scope = 'schema'`,
    );
    expect(rows.map((row) => [row.get('version'), row.get('name'), row.get('checksum')])).toEqual(
      files.map((m) => [m.version, m.name, m.checksum]),
    );
    for (const row of rows) {
      expect((row.get('applied_at') as Date).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(row.get('applied_by')).toEqual(result.applied[0]?.appliedBy);
    }
    const tables = (
      await query(config, 'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [
        config.cassandra.keyspace,
      ])
    ).map((row) => row.get('table_name'));
    for (const table of [
      'users',
      'devices_by_user',
      'threads',
      'thread_subscribers',
      'messages_by_thread',
      'schedule',
    ]) {
      expect(tables).toContain(table);
    }
    const keyspace = await query(config, 'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [
      config.cassandra.keyspace,
    ]);
    expect(keyspace[0]?.get('replication')).toMatchObject({ class: 'org.apache.cassandra.locator.SimpleStrategy' });
  });

  it('is idempotent: a second run applies nothing and changes no record', async () => {
    const config = fresh();
    const first = await migrate(config, { log: quiet });
    const second = await migrate(config, { log: quiet });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied.map((m) => m.version));
    const status = await migrationStatus(config);
    expect(status.pending).toEqual([]);
    expect(status.applied.map((m) => m.appliedBy)).toEqual(first.applied.map((m) => m.appliedBy));
  });

  it('lets concurrent runs apply each migration exactly once', async () => {
    const config = fresh();
    const files = await loadMigrations();
    const results = await Promise.all([1, 2, 3].map(() => migrate(config, { log: quiet })));

    const applied = results.flatMap((result) => result.applied.map((m) => m.version)).sort((a, b) => a - b);
    expect(applied).toEqual(files.map((m) => m.version));
    const rows = await query(
      config,
      `SELECT version, applied_by FROM ${config.cassandra.keyspace}.schema_migrations WHERE scope = 'schema'`,
    );
    expect(rows).toHaveLength(files.length);
    // Each record names the run that reported applying it.
    for (const row of rows) {
      const reporter = results.find((result) => result.applied.some((m) => m.version === row.get('version')));
      expect(reporter?.applied.find((m) => m.version === row.get('version'))?.appliedBy).toEqual(row.get('applied_by'));
    }
  });

  it('refuses a changed applied migration, and applies a new one alone', async () => {
    const config = fresh();
    const directory = await mkdtemp(join(tmpdir(), 'msgxc-migrations-'));
    try {
      await cp(defaultMigrationsDirectory, directory, { recursive: true });
      await migrate(config, { log: quiet, directory });

      await writeFile(
        join(directory, '900_extra.cql'),
        '-- a later migration\nCREATE TABLE IF NOT EXISTS extra_things (id text PRIMARY KEY, note text);\n' +
          'ALTER TABLE IF EXISTS extra_things ADD IF NOT EXISTS more text;',
      );
      const next = await migrate(config, { log: quiet, directory });
      expect(next.applied.map((m) => [m.version, m.name])).toEqual([[900, 'extra']]);

      await writeFile(
        join(directory, '900_extra.cql'),
        'CREATE TABLE IF NOT EXISTS extra_things (id text PRIMARY KEY);',
      );
      await expect(migrate(config, { log: quiet, directory })).rejects.toMatchObject({
        code: 'MIGRATION_CHECKSUM_MISMATCH',
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('waits for the lock another run holds, and gives up after its deadline', async () => {
    const config = fresh();
    // Bootstrap the keyspace and its tables with an empty set of migrations, then hold the lock.
    const empty = await mkdtemp(join(tmpdir(), 'msgxc-migrations-'));
    await writeFile(join(empty, '000_nothing.cql'), 'CREATE TABLE IF NOT EXISTS nothing (id text PRIMARY KEY);');
    try {
      await migrate(config, { log: quiet, directory: empty });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    const holder = `someone-else-${randomBytes(3).toString('hex')}`;
    await query(
      config,
      `INSERT INTO ${config.cassandra.keyspace}.schema_lock (name, owner, acquired_at) VALUES ('migrate', ?, ?) USING TTL 60`,
      [holder, new Date()],
    );

    await expect(migrate(config, { log: quiet, lockWaitMs: 1_500 })).rejects.toMatchObject({
      code: 'MIGRATION_LOCK_TIMEOUT',
    });
    expect((await migrationStatus(config)).applied.map((m) => m.name)).toEqual(['nothing']);

    await query(config, `DELETE FROM ${config.cassandra.keyspace}.schema_lock WHERE name = 'migrate'`);
    const result = await migrate(config, { log: quiet });
    expect(result.applied.length).toBeGreaterThan(0);
  });
});
