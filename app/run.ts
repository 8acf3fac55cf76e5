import type { Config } from '../pipeline/config/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { serveStages } from '../pipeline/runtime/run-stages.ts';
import type { Service } from '../pipeline/runtime/types.ts';
import { services, stages } from '../stages/index.ts';

/**
 * `msgxc run <name…|all>`: runs the named stages and services (long-running components such as the
 * scheduler) in this process until SIGTERM / SIGINT.
 */
export async function run(config: Config, args: string[]): Promise<number> {
  const stageNames = Object.keys(stages).sort();
  const serviceNames = Object.keys(services).sort();
  const known = [...stageNames, ...serviceNames];
  if (args.includes('--list')) {
    console.log(known.join('\n'));
    return 0;
  }
  const wanted = args.includes('all') ? known : [...new Set(args)];
  const unknown = wanted.filter((name) => !known.includes(name));
  if (wanted.length === 0 || unknown.length > 0) {
    if (unknown.length > 0) console.error(`unknown stage or service: ${unknown.join(', ')}`);
    console.error(
      `usage: msgxc run <name…|all>\nstages: ${stageNames.join(', ') || '(none registered)'}\n` +
        `services: ${serviceNames.join(', ') || '(none registered)'}`,
    );
    return 2;
  }
  const log = createLogger(config, 'runtime');
  const definitions = await Promise.all(wanted.filter((name) => name in stages).map((name) => stages[name]!()));
  const hosted: Record<string, Service> = {};
  for (const name of wanted.filter((item) => item in services)) hosted[name] = await services[name]!(config);
  const code = await serveStages(config, definitions, { log, services: hosted });
  // After a timed-out stop something (a stuck produce) may hold the event loop: exit anyway so a
  // supervisor restarts the process; the uncommitted records are redelivered to the group.
  setTimeout(() => process.exit(code), 5_000).unref();
  return code;
}
