import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadConfig } from '../pipeline/config/index.ts';
import { down, logFileOf, StackError, status, up } from './index.ts';

/** `npm run stack -- up | down | status | logs <server>` */

const usage = 'usage: npm run stack -- up | down | status | logs <kafka|registry|cassandra|opensearch|connect>';

function table(rows: Awaited<ReturnType<typeof status>>): string {
  return rows
    .map(
      (row) =>
        `${row.name.padEnd(10)} ${row.state.padEnd(8)} ${row.endpoint}` +
        `${row.pid ? `  pid ${row.pid}` : ''}${row.rssMiB ? `  ${row.rssMiB} MiB` : ''}`,
    )
    .join('\n');
}

async function main(argv: string[]): Promise<number> {
  const config = loadConfig();
  const [command, argument] = argv;
  const say = (line: string) => console.log(line);
  switch (command) {
    case 'up': {
      const started = Date.now();
      const rows = await up(config.stack, { report: say });
      console.log(
        `\nall healthy in ${((Date.now() - started) / 1000).toFixed(1)}s (state in ${config.stack.stateDir})`,
      );
      console.log(table(rows));
      return 0;
    }
    case 'down':
      await down(config.stack, say);
      console.log('stack is down');
      return 0;
    case 'status': {
      const rows = await status(config.stack);
      console.log(table(rows));
      return rows.every((row) => row.state === 'healthy') ? 0 : 1;
    }
    case 'logs': {
      if (!argument) {
        console.error(usage);
        return 2;
      }
      const file = logFileOf(config.stack, argument);
      if (!existsSync(file)) {
        console.error(`${argument} has no log yet (${file})`);
        return 1;
      }
      const tail = spawn('tail', ['-n', '200', '-F', file], { stdio: 'inherit' });
      return new Promise((resolvePromise) => tail.on('close', (code) => resolvePromise(code ?? 0)));
    }
    default:
      console.error(usage);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof StackError) console.error(`error ${error.code}: ${error.message}`);
    else console.error(error);
    process.exit(1);
  },
);
