import { loadConfig } from '../../pipeline/config/index.ts';
import { down, status, up } from '../../stack/index.ts';

/**
 * Integration tests run against the real servers. The local stack is started once per run when it
 * is not up already, and stopped afterwards only if this run started it.
 */
let startedHere = false;

export async function setup(): Promise<void> {
  const config = loadConfig();
  if (!config.usesLocalStack) return;
  const rows = await status(config.stack);
  if (rows.every((row) => row.state === 'healthy' || row.state === 'foreign')) return;
  startedHere = rows.every((row) => row.state === 'down');
  await up(config.stack, { report: (line) => console.log(`[stack] ${line}`) });
}

export async function teardown(): Promise<void> {
  if (!startedHere) return;
  await down(loadConfig().stack, (line) => console.log(`[stack] ${line}`));
}
