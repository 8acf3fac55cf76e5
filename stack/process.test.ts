import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandOf, isAlive, launchDetached, sleep } from './process.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function runDetached(command: string, args: string[], timerSlackNs?: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'msgxc-process-'));
  dirs.push(dir);
  const logFile = join(dir, 'out.log');
  const pid = launchDetached({ command, args, cwd: dir, logFile, pidFile: join(dir, 'pid'), timerSlackNs });
  for (let waited = 0; isAlive(pid) && waited < 5_000; waited += 20) await sleep(20);
  return readFileSync(logFile, 'utf8');
}

describe('launchDetached', () => {
  it('starts the server as given when no timer slack is asked for', () => {
    const launch = { command: 'java', args: ['-Xmx1g', 'Main'], cwd: '/', logFile: '/x', pidFile: '/y' };
    expect(commandOf(launch)).toEqual({ command: 'java', args: ['-Xmx1g', 'Main'] });
  });

  // The stack runs on Linux (CI and the reference machine); the file exists on every kernel since 4.6.
  it.runIf(existsSync('/proc/self/timerslack_ns'))(
    'gives the server, and what it starts, the timer slack asked for',
    async () => {
      const defaultSlack = (await runDetached('cat', ['/proc/self/timerslack_ns'])).trim();
      const output = await runDetached(
        'sh',
        ['-c', 'cat /proc/self/timerslack_ns; echo "$1"', 'sh', 'arg with spaces'],
        400_000,
      );
      expect(output.split('\n').slice(0, 2)).toEqual(['400000', 'arg with spaces']);
      expect(defaultSlack).not.toBe('400000');
    },
  );
});
