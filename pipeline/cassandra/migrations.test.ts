import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { replicationClause } from './client.ts';
import { loadMigrations, splitStatements } from './migrations.ts';

describe('splitStatements', () => {
  it('splits on statement-ending semicolons and drops comments', () => {
    const script = [
      '-- a comment; with a semicolon',
      'CREATE TABLE a (id text PRIMARY KEY); // trailing; comment',
      '/* block; comment */ CREATE TABLE b (id text PRIMARY KEY)',
      ';',
      "INSERT INTO a (id) VALUES ('semi;colon''s');",
      'CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$;',
      '   ',
    ].join('\n');
    expect(splitStatements(script)).toEqual([
      'CREATE TABLE a (id text PRIMARY KEY)',
      'CREATE TABLE b (id text PRIMARY KEY)',
      "INSERT INTO a (id) VALUES ('semi;colon''s')",
      'CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$',
    ]);
  });

  it('reports unterminated quotes and comments', () => {
    expect(() => splitStatements("INSERT INTO a (id) VALUES ('oops);")).toThrow(/unterminated/);
    expect(() => splitStatements('/* never closed')).toThrow(/unterminated/);
  });
});

describe('loadMigrations', () => {
  it('loads the shipped migrations in version order, each with statements and a checksum', async () => {
    const migrations = await loadMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.map((m) => m.version)).toEqual([...migrations.map((m) => m.version)].sort((a, b) => a - b));
    for (const migration of migrations) {
      expect(migration.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(migration.statements.length).toBeGreaterThan(0);
      // A re-run after a failure halfway re-applies the whole file: creations must be idempotent.
      for (const statement of migration.statements.filter((s) => /^(CREATE|ALTER|DROP)\b/i.test(s))) {
        expect(statement, `${migration.file}: ${statement.slice(0, 60)}`).toMatch(/\bIF (NOT )?EXISTS\b/i);
      }
    }
  });

  it('ignores stray files, refuses duplicate versions and ignores CRLF line endings in checksums', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'msgxc-migrations-unit-'));
    try {
      await writeFile(join(directory, 'README.md'), 'not a migration');
      await writeFile(join(directory, '002_b.cql'), 'CREATE TABLE IF NOT EXISTS b (id text PRIMARY KEY);\n');
      await writeFile(join(directory, '001_a.cql'), 'CREATE TABLE IF NOT EXISTS a (id text PRIMARY KEY);\r\n');
      const [a, b] = await loadMigrations(directory);
      expect([a?.file, b?.file]).toEqual(['001_a.cql', '002_b.cql']);
      await writeFile(join(directory, '001_a.cql'), 'CREATE TABLE IF NOT EXISTS a (id text PRIMARY KEY);\n');
      expect((await loadMigrations(directory))[0]?.checksum).toBe(a?.checksum);

      await writeFile(join(directory, '002_c.cql'), 'CREATE TABLE IF NOT EXISTS c (id text PRIMARY KEY);');
      await expect(loadMigrations(directory)).rejects.toMatchObject({ code: 'MIGRATION_DUPLICATE_VERSION' });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('replicationClause', () => {
  it('uses SimpleStrategy by default and NetworkTopologyStrategy when data centres are named', () => {
    expect(replicationClause(parseConfig({ MSGXC_CASSANDRA_REPLICATION: '3' }))).toBe(
      "{'class': 'SimpleStrategy', 'replication_factor': 3}",
    );
    expect(replicationClause(parseConfig({ MSGXC_CASSANDRA_REPLICATION_DCS: 'eu-west:3, us-east:2' }))).toBe(
      "{'class': 'NetworkTopologyStrategy', 'eu-west': 3, 'us-east': 2}",
    );
    expect(() => parseConfig({ MSGXC_CASSANDRA_REPLICATION_DCS: 'eu-west' })).toThrow(/data centre/);
  });
});
