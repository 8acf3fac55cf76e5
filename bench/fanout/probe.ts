import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { audienceSourceOf } from '../../stages/fanout/audience.ts';
import type { FanoutDependencies } from '../../stages/fanout/handler.ts';
import { fanoutSettings } from '../../stages/fanout/index.ts';
import { pageAll } from '../audience-users.ts';
import { asTheStageRunsIt, type Reach } from './broadcast.ts';
import { type Memory, measure } from './measure.ts';

/**
 * Memory in a fresh process per mode: RSS never shrinks back, so a mode measured after another would be billed
 * for it. The bench re-runs itself with `probe=<mode>`; the child prints its figures as one JSON line.
 */

/** One broadcast of one mode over an existing index, printing its memory as a JSON line (run in a child). */
export async function probe(
  baseConfig: Config,
  mode: string,
  prefix: string,
  users: number,
  sliceUsers: number,
): Promise<number> {
  const config: Config = { ...baseConfig, logLevel: 'warn', search: { ...baseConfig.search, indexPrefix: prefix } };
  const index = createAudienceIndex(config);
  const settings = { ...fanoutSettings(config), sliceUsers };
  const deps: FanoutDependencies = { audience: audienceSourceOf(index), settings, now: Date.now };
  try {
    const broadcast =
      mode === 'paging'
        ? async (): Promise<Reach> => ({
            recipients: await pageAll(index, settings.pageSize),
            deliveries: 0,
            calls: 1,
            flushes: 0,
          })
        : () => asTheStageRunsIt(deps, baseConfig.runtime);
    const result = await measure(users, broadcast, true);
    console.log(
      `PROBE ${JSON.stringify({ startRss: result.startRss, peakRss: result.peakRss, peakHeap: result.peakHeap })}`,
    );
    return 0;
  } finally {
    await index.close();
  }
}

export async function probeInChild(
  mode: string,
  prefix: string,
  users: number,
  sliceUsers: number,
): Promise<Memory | undefined> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1] ?? 'bench/index.ts',
      'flow-fanout',
      `probe=${mode}`,
      `index=${prefix}`,
      `users=${users}`,
      `slice=${sliceUsers}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = output.split('\n').find((text) => text.startsWith('PROBE '));
  if (code !== 0 || !line) {
    console.error(`memory probe ${mode} failed (exit ${code})`);
    return undefined;
  }
  return JSON.parse(line.slice('PROBE '.length)) as Memory;
}
