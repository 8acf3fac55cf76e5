import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Client } from 'cassandra-driver';
import type { Config } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { assertKeyspaceName, clientOptions, replicationClause } from './client.ts';
import { cassandraError } from './errors.ts';
import { acquireLock } from './lock.ts';
import { loadMigrations, type Migration } from './migrations.ts';

export interface MigrateOptions {
  log?: Logger;
  /** Folder of `NNN_name.cql` files; defaults to `pipeline/cassandra/migrations`. */
  directory?: string;
  /** Lease of the migration lock, renewed while migrations run. */
  lockTtlSeconds?: number;
  /** How long to wait for a concurrent `migrate` to finish. */
  lockWaitMs?: number;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
  appliedBy: string;
  durationMs: number;
}

export interface MigrateResult {
  keyspace: string;
  /** What this run applied, in order; empty when the schema was already current. */
  applied: AppliedMigration[];
  /** Versions that were applied before this run. */
  alreadyApplied: number[];
}

const scope = 'schema';
const lockName = 'migrate';

/** Tables `migrate` needs before it can read which migrations ran; they are not migrations themselves. */
const bootstrap = (keyspace: string) => [
  `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (
     scope text, version int, name text, checksum text, applied_at timestamp, applied_by text, duration_ms int,
     PRIMARY KEY ((scope), version))`,
  `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_lock (name text PRIMARY KEY, owner text, acquired_at timestamp)`,
];

/**
 * Creates the keyspace when missing, then applies the migrations not yet recorded in
 * `schema_migrations`, in version order, each recorded (checksum, time, who) once all its statements
 * succeeded. Concurrent runs are serialised by an LWT lock, and the record itself is written
 * `IF NOT EXISTS`, so no migration is applied twice. A recorded migration whose file changed is an
 * error: fix forward with a new file. Statements must be idempotent (`IF NOT EXISTS` / `IF EXISTS`),
 * because a run that dies halfway through a file re-runs that whole file.
 */
export async function migrate(config: Config, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? createLogger(config, 'migrate');
  const keyspace = assertKeyspaceName(config.cassandra.keyspace);
  const migrations = await loadMigrations(options.directory);
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  const admin = new Client(clientOptions(config, null));
  let client: Client | undefined;
  try {
    await ensureKeyspace(admin, config, log);
    for (const statement of bootstrap(keyspace)) await ddl(admin, statement, 'create the migration tables');
    client = new Client(clientOptions(config, keyspace));

    const before = await readApplied(client);
    if (pendingMigrations(migrations, before, log).length === 0) {
      log.info({ keyspace, version: latest(before) }, 'schema is current');
      return { keyspace, applied: [], alreadyApplied: [...before.keys()] };
    }

    const lock = await acquireLock(client, lockName, owner, {
      ttlSeconds: options.lockTtlSeconds ?? 60,
      waitMs: options.lockWaitMs ?? 600_000,
      log,
    });
    const applied: AppliedMigration[] = [];
    try {
      // Another run may have applied some while this one waited for the lock.
      const recorded = await readApplied(client);
      for (const migration of pendingMigrations(migrations, recorded, log)) {
        lock.assertHeld();
        applied.push(await apply(client, migration, owner, log));
      }
      log.info({ keyspace, applied: applied.length, version: latest(await readApplied(client)) }, 'schema migrated');
      return { keyspace, applied, alreadyApplied: [...recorded.keys()] };
    } finally {
      await lock.release();
    }
  } finally {
    await Promise.allSettled([admin.shutdown(), client?.shutdown()]);
  }
}

/** Which migrations are applied and which are pending, without changing anything. */
export async function migrationStatus(
  config: Config,
  options: Pick<MigrateOptions, 'directory'> = {},
): Promise<{ applied: AppliedMigration[]; pending: Migration[] }> {
  const keyspace = assertKeyspaceName(config.cassandra.keyspace);
  const migrations = await loadMigrations(options.directory);
  const admin = new Client(clientOptions(config, null));
  try {
    const exists = await admin.execute(
      'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
      [keyspace, 'schema_migrations'],
    );
    if (exists.rowLength === 0) return { applied: [], pending: migrations };
    const recorded = await readApplied(admin, `${keyspace}.`);
    return {
      applied: [...recorded.values()],
      pending: migrations.filter((migration) => !recorded.has(migration.version)),
    };
  } catch (error) {
    throw cassandraError(error, 'read the migration status');
  } finally {
    await admin.shutdown();
  }
}

async function ensureKeyspace(admin: Client, config: Config, log: Logger): Promise<void> {
  const keyspace = config.cassandra.keyspace;
  const wanted = replicationClause(config);
  await ddl(admin, `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${wanted}`, 'create the keyspace');
  // An existing keyspace keeps its replication: changing it needs a repair, which is an operator's call.
  const row = (
    await admin.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [keyspace])
  ).first();
  const actual = (row?.get('replication') ?? {}) as Record<string, string>;
  const expected = expectedReplication(config);
  const differs = Object.entries(expected).some(([key, value]) => !String(actual[key] ?? '').endsWith(value));
  if (differs) log.warn({ keyspace, actual, expected }, 'keyspace replication differs from the configuration');
}

function expectedReplication(config: Config): Record<string, string> {
  const { replicationByDataCenter, replication } = config.cassandra;
  if (replicationByDataCenter !== null) {
    return {
      class: 'NetworkTopologyStrategy',
      ...Object.fromEntries(Object.entries(replicationByDataCenter).map(([dc, n]) => [dc, String(n)])),
    };
  }
  return { class: 'SimpleStrategy', replication_factor: String(replication) };
}

async function readApplied(client: Client, prefix = ''): Promise<Map<number, AppliedMigration>> {
  try {
    const result = await client.execute(
      `SELECT version, name, checksum, applied_at, applied_by, duration_ms FROM ${prefix}schema_migrations WHERE scope = ?`,
      [scope],
    );
    return new Map(
      result.rows.map((row) => [
        row.get('version') as number,
        {
          version: row.get('version') as number,
          name: row.get('name') as string,
          checksum: row.get('checksum') as string,
          appliedAt: row.get('applied_at') as Date,
          appliedBy: row.get('applied_by') as string,
          durationMs: row.get('duration_ms') as number,
        },
      ]),
    );
  } catch (error) {
    throw cassandraError(error, 'read the applied migrations');
  }
}

/** The migrations still to apply; throws when an applied one no longer matches its file. */
function pendingMigrations(migrations: Migration[], applied: Map<number, AppliedMigration>, log: Logger): Migration[] {
  const changed = migrations.filter((migration) => {
    const record = applied.get(migration.version);
    return record !== undefined && record.checksum !== migration.checksum;
  });
  if (changed.length > 0) {
    throw new MsgxcError(
      'MIGRATION_CHECKSUM_MISMATCH',
      `applied migrations changed since they ran: ${changed.map((migration) => migration.file).join(', ')}; ` +
        'add a new migration instead of editing an applied one',
      { status: 500, details: { files: changed.map((migration) => migration.file) } },
    );
  }
  const known = new Set(migrations.map((migration) => migration.version));
  const unknown = [...applied.keys()].filter((version) => !known.has(version));
  if (unknown.length > 0) log.warn({ versions: unknown }, 'the database has migrations this code does not know');
  return migrations.filter((migration) => !applied.has(migration.version));
}

async function apply(client: Client, migration: Migration, owner: string, log: Logger): Promise<AppliedMigration> {
  const started = Date.now();
  log.info({ version: migration.version, migration: migration.name }, 'applying migration');
  for (const statement of migration.statements) {
    await ddl(client, statement, `apply migration ${migration.file}`);
  }
  const record: AppliedMigration = {
    version: migration.version,
    name: migration.name,
    checksum: migration.checksum,
    appliedAt: new Date(),
    appliedBy: owner,
    durationMs: Date.now() - started,
  };
  const result = await client
    .execute(
      'INSERT INTO schema_migrations (scope, version, name, checksum, applied_at, applied_by, duration_ms) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
      [scope, record.version, record.name, record.checksum, record.appliedAt, record.appliedBy, record.durationMs],
    )
    .catch((error: unknown) => {
      throw cassandraError(error, `record migration ${migration.file}`);
    });
  const holder = result.first()?.get('applied_by');
  if (!result.wasApplied() && holder !== owner) {
    throw new MsgxcError('MIGRATION_CONFLICT', `migration ${migration.file} was recorded by ${holder} meanwhile`, {
      status: 500,
    });
  }
  log.info(
    { version: migration.version, migration: migration.name, durationMs: record.durationMs },
    'migration applied',
  );
  return record;
}

/** Schema statements are not prepared: each runs once, and DDL cannot take bound values anyway. */
async function ddl(client: Client, statement: string, what: string): Promise<void> {
  try {
    await client.execute(statement, [], { prepare: false });
  } catch (error) {
    throw cassandraError(error, what);
  }
}

function latest(applied: Map<number, AppliedMigration>): number | null {
  return applied.size === 0 ? null : Math.max(...applied.keys());
}
