/**
 * `npm run bench -- <name> [key=value…]`: each benchmark is one entry, loaded only when run, exporting
 * `run(config, args): Promise<number>` (the exit code), like the CLI's commands. Add a benchmark as ONE line.
 */
import { type Config, ConfigError, loadConfig } from '../pipeline/config/index.ts';
import { reportCpuSpeed } from './harness/cpu-speed.ts';

type Bench = () => Promise<{ run: (config: Config, args: string[]) => Promise<number> }>;

const benches: Record<string, Bench> = {
  runtime: () => import('./runtime.ts'),
  audience: () => import('./audience.ts'),
  gateway: () => import('./gateway.ts'),
  'flow-fanout': () => import('./fanout.ts'),
  flow: () => import('./flow.ts'),
  api: () => import('./api.ts'),
  dedup: () => import('./dedup.ts'),
  'delivery-state': () => import('./delivery-state.ts'),
  faults: () => import('./faults/index.ts'),
  all: () => import('./all.ts'),
  channels: () => import('./channels.ts'),
  reporting: () => import('./reporting.ts'),
  'channels-messaging': () => import('./channels-messaging.ts'),
  'reporting-spark': () => import('./reporting-spark.ts'),
};

const [name, ...args] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [key=value…]`);
  process.exitCode = name ? 2 : 0;
} else {
  // `all` runs each bench in a process of its own, which times the machine itself.
  const timed = name !== 'all';
  try {
    if (timed) reportCpuSpeed('before');
    process.exitCode = await (await bench()).run(loadConfig(), args);
    if (timed) reportCpuSpeed('after');
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exitCode = 1;
  }
}
