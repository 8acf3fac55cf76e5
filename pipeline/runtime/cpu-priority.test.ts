import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { autogroupNiceOf, sessionOf } from './cpu-priority.ts';

const hasAutogroup = existsSync('/proc/self/autogroup');

/** Runs lowerCpuPriority(7) in a fresh node process, in a session of its own or its parent's; returns what it applied. */
function lowerInChild(
  ownSession: boolean,
): Promise<{ applied: { nice: number; autogroupNice: number | null; autogroupLeft?: string } }> {
  const script = [
    `import { lowerCpuPriority } from ${JSON.stringify(join(import.meta.dirname, 'cpu-priority.ts'))};`,
    'console.log(JSON.stringify({ applied: lowerCpuPriority(7) }));',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script],
      { detached: ownSession, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}: ${out}`))));
  });
}

describe('lowerCpuPriority', () => {
  it('lowers the nice of a session leader and of its autogroup (where the kernel has autogroup)', async () => {
    const { applied } = await lowerInChild(true);
    expect(applied.nice).toBe(7);
    expect(applied.autogroupNice).toBe(hasAutogroup ? 7 : null);
    expect(applied.autogroupLeft).toBe(hasAutogroup ? undefined : 'no autogroup');
  });

  it("leaves the autogroup alone in a process that shares its parent's session", async () => {
    // The test runner may itself sit in the root group (an empty file), as under CI runners started from init.
    const before = hasAutogroup ? autogroupNiceOf(readFileSync('/proc/self/autogroup', 'utf8')) : null;
    const { applied } = await lowerInChild(false);
    expect(applied.nice).toBe(7);
    expect(applied.autogroupNice).toBeNull();
    expect(applied.autogroupLeft).toBe(hasAutogroup ? 'not the session leader' : 'no autogroup');
    if (hasAutogroup) {
      const after = autogroupNiceOf(readFileSync('/proc/self/autogroup', 'utf8'));
      expect(after).toBe(before);
    }
  });

  it('reads the session id after a command name with spaces and parentheses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgxc-proc-'));
    writeFileSync(join(dir, 'stat'), '4242 (node (x) y) S 1 4240 4241 0 -1 4194560 1 0 0 0');
    expect(sessionOf({ dir, pid: 4242 })).toBe(4241);
  });

  it('reads the autogroup nice, negative included, and none for the root group', () => {
    expect(autogroupNiceOf('/autogroup-955 nice 0\n')).toBe(0);
    expect(autogroupNiceOf('/autogroup-12 nice -5\n')).toBe(-5);
    expect(autogroupNiceOf('')).toBeNull();
    expect(() => autogroupNiceOf('garbage')).toThrow(/unexpected autogroup line/);
  });
});
