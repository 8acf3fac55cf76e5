import { parseArgs } from 'node:util';
import { createCassandra } from '../cassandra/index.ts';
import type { Config } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { cassandraAudienceSource } from './cassandra-source.ts';
import { createProgressBar } from './progress.ts';
import { rebuildAudienceIndex } from './reindex.ts';

const usage = `usage: msgxc reindex [--delete-old] [--force] [--settle-ms N] [--concurrency N] [--page-size N] [--skew-ms N]
  Rebuilds the audience index from Cassandra into a new index and swaps the alias to it.
  --delete-old    delete the indices the alias pointed at, after the swap
  --force         replace a rebuild that stopped half-way (its "-next" alias is still there)
  --settle-ms     wait after creating the new index before reading, for writers to notice it (default 10000)
  --concurrency   users read from Cassandra at once (default 16)
  --page-size     users per page and per bulk request (default 500)
  --skew-ms       date each snapshot this much before its read (default 5000)`;

/** `msgxc reindex`: exit 0 after the swap, 1 when the rebuild failed (the live index is untouched), 2 on bad usage. */
export async function run(config: Config, args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return 2;
  }
  if (parsed.help) {
    console.log(usage);
    return 0;
  }
  const log = createLogger(config, 'reindex');
  const client = createCassandra(config);
  const bar = createProgressBar('reindex');
  try {
    await client.connect();
    const result = await rebuildAudienceIndex(config, cassandraAudienceSource(client, parsed), {
      ...parsed,
      log,
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.finish();
    console.error(
      `reindexed ${result.users} users into ${result.index}` +
        (result.previous.length
          ? ` (was ${result.previous.join(', ')}${result.deleted.length ? ', deleted' : ', kept'})`
          : ''),
    );
    return 0;
  } catch (error) {
    bar.finish();
    log.error({ err: error }, 'reindex failed; the live audience index is unchanged');
    return 1;
  } finally {
    await client.shutdown();
  }
}

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      'delete-old': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'settle-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'page-size': { type: 'string' },
      'skew-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const number = (name: string, value: string | undefined, min: number) => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return parsed;
  };
  return {
    help: values.help,
    deleteOld: values['delete-old'],
    force: values.force,
    settleMs: number('settle-ms', values['settle-ms'], 0),
    concurrency: number('concurrency', values.concurrency, 1),
    pageSize: number('page-size', values['page-size'], 1),
    skewMs: number('skew-ms', values['skew-ms'], 0),
  };
}
