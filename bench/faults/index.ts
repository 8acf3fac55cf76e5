import type { Config } from '../../pipeline/config/index.ts';
import { broadcastFaults } from './broadcast.ts';
import { poisonFlood } from './poison.ts';
import { steadyFaults } from './steady.ts';
import { type Fault, type FaultResult, type FaultScale, scales } from './types.ts';

/**
 * The fault suite: each fault against msgxc running as real processes on the real servers, with its count
 * of messages in and out. `npm run faults [bounded|full] [only=<substring>,…] [stack=shared]` prints one
 * table; `npm test` runs the bounded suite (test/faults) and requires lost = 0 on every row.
 */
export const faults: Fault[] = [...broadcastFaults, ...steadyFaults.slice(0, 1), poisonFlood, ...steadyFaults.slice(1)];

export interface SuiteOptions {
  scale: FaultScale;
  only?: string[];
  /** Whether faults that restart a shared server may run (they disturb anyone else using the stack). */
  disruptStack: boolean;
  log?: (line: string) => void;
}

export async function runFaults(config: Config, options: SuiteOptions): Promise<FaultResult[]> {
  const log = options.log ?? ((line: string) => console.error(line));
  const chosen = faults.filter(
    (fault) =>
      (options.disruptStack || !fault.disruptsStack) &&
      (!options.only || options.only.some((part) => fault.name.includes(part))),
  );
  const results: FaultResult[] = [];
  for (const fault of chosen) {
    log(`fault: ${fault.name} (${options.scale.name})`);
    const started = Date.now();
    const result = await fault.run({ config, scale: options.scale, log });
    log(`fault: ${fault.name} done in ${((Date.now() - started) / 1000).toFixed(0)} s, lost ${result.lost}`);
    results.push(result);
  }
  return results;
}

export function faultTable(results: FaultResult[]): string {
  const rows = results.map((r) =>
    [
      r.fault,
      r.sent,
      r.received,
      r.duplicatesBefore,
      r.duplicatesAfter,
      r.lost,
      r.recoveryMs === null ? '—' : (r.recoveryMs / 1000).toFixed(1),
      r.note,
    ].join(' | '),
  );
  return [
    '| fault | sent | received | duplicates before de-dup | duplicates after | lost | recovery (s) | notes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/** `npm run faults -- [bounded|full] [only=a,b] [stack=shared]` */
export async function run(config: Config, args: string[]): Promise<number> {
  const scale = scales[args.includes('bounded') ? 'bounded' : 'full'];
  const only = args
    .find((arg) => arg.startsWith('only='))
    ?.slice(5)
    .split(',');
  const disruptStack = !args.includes('stack=shared');
  const results = await runFaults(config, { scale, ...(only ? { only } : {}), disruptStack });
  console.log(faultTable(results));
  return results.every((result) => result.lost === 0) ? 0 : 1;
}
