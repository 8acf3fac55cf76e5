import { stages } from '../../stages/index.ts';
import type { Config } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { serveStages } from './run-stages.ts';

/** `msgxc run <stage…|all>`: runs the named stages in this process until SIGTERM / SIGINT. */
export async function run(config: Config, args: string[]): Promise<number> {
  const known = Object.keys(stages).sort();
  if (args.includes('--list')) {
    console.log(known.join('\n'));
    return 0;
  }
  const wanted = args.includes('all') ? known : [...new Set(args)];
  const unknown = wanted.filter((name) => !known.includes(name));
  if (wanted.length === 0 || unknown.length > 0) {
    if (unknown.length > 0) console.error(`unknown stage: ${unknown.join(', ')}`);
    console.error(`usage: msgxc run <stage…|all>\nstages: ${known.join(', ') || '(none registered)'}`);
    return 2;
  }
  const log = createLogger(config, 'runtime');
  const definitions = await Promise.all(wanted.map((name) => stages[name]!()));
  const code = await serveStages(config, definitions, { log });
  // After a timed-out stop something (a stuck produce) may hold the event loop: exit anyway so a
  // supervisor restarts the process; the uncommitted records are redelivered to the group.
  setTimeout(() => process.exit(code), 5_000).unref();
  return code;
}
