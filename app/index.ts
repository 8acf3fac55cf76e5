import type { Config } from '../pipeline/config/index.ts';

/**
 * `msgxc <command> [args]`. Each command lives in its own module, loaded only when run, and
 * exports `run(config, args)` returning the process exit code.
 */
export interface Command {
  summary: string;
  load: () => Promise<{ run: (config: Config, args: string[]) => Promise<number> }>;
}

export const commands: Record<string, Command> = {
  start: {
    summary: 'bring the local stack up (unless clusters are configured) and run the system',
    load: () => import('./start.ts'),
  },
  run: {
    summary:
      'run pipeline stages and services (the scheduler) in this process: `run <name…>` or `run all` (`run --list` names them)',
    load: () => import('./run.ts'),
  },
  migrate: {
    summary: 'create the Cassandra keyspace and apply pending schema migrations (`migrate status` lists them)',
    load: () => import('../pipeline/cassandra/cli.ts'),
  },
  topics: {
    summary: 'register the Avro schemas and create/update the Kafka topics from the table (`topics --print` shows it)',
    load: () => import('../pipeline/topics/cli.ts'),
  },
  reindex: {
    summary: 'rebuild the audience index from Cassandra into a new index and swap the alias (`reindex --help`)',
    load: () => import('../pipeline/audience-index/reindex-cli.ts'),
  },
  http: {
    summary: 'serve the HTTP facade (the seed API, threads, devices, preferences, /metrics, /readyz) until stopped',
    load: () => import('../stages/http/index.ts'),
  },
  scheduler: {
    summary: 'run a scheduler instance: re-injects held requests when due (several may run; claims are LWTs)',
    load: () => import('../stages/scheduler/index.ts'),
  },
  connectors: {
    summary: 'create or update the Cassandra sink connectors on Kafka Connect (`--print` shows them, `--delete`)',
    load: () => import('../connectors/cli.ts'),
  },
  token: {
    summary: 'print a development JWT for a uid (`token alice --admin`), signed with the HS256 secret',
    load: () => import('./token.ts'),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'usage: msgxc <command> [args]',
    '',
    ...Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
  ].join('\n');
}
