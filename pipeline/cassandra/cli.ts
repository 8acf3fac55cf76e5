import type { Config } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { migrate, migrationStatus } from './migrate.ts';

/** `msgxc migrate` applies pending migrations; `msgxc migrate status` lists applied and pending ones. */
export async function run(config: Config, args: string[]): Promise<number> {
  const log = createLogger(config, 'migrate');
  const [subcommand] = args;
  if (subcommand === 'status') {
    const { applied, pending } = await migrationStatus(config);
    for (const migration of applied) {
      console.log(
        `applied  ${String(migration.version).padStart(3, '0')}_${migration.name}  ${migration.appliedAt.toISOString()}  ${migration.appliedBy}`,
      );
    }
    for (const migration of pending) console.log(`pending  ${migration.file}`);
    return 0;
  }
  if (subcommand !== undefined) {
    console.error('usage: msgxc migrate [status]');
    return 2;
  }
  const result = await migrate(config, { log });
  console.log(
    result.applied.length === 0
      ? `keyspace ${result.keyspace} is current`
      : `keyspace ${result.keyspace}: applied ${result.applied.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`).join(', ')}`,
  );
  return 0;
}
