import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystem, freePort, type System } from '../../bench/harness/system.ts';

/**
 * `npm start` must end when whoever started it says so. Supervisors signal the process they started — npm —
 * and an npm that is killed outright leaves its child re-parented: in both cases msgxc stops, closes its
 * ports and leaves no process behind.
 */
const projectRoot = join(import.meta.dirname, '..', '..');
let system: System;

beforeAll(async () => {
  system = await createSystem();
});
afterAll(async () => {
  await system?.teardown();
});

interface Started {
  npm: ChildProcess;
  msgxcPid: number;
  exited: Promise<void>;
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch (error) {
    if ((error as { status?: number }).status === 1) return []; // pgrep: nothing matched
    throw error;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function npmStart(name: string): Promise<Started> {
  const log = createWriteStream(join(system.logDir, `${name}.log`));
  const env = {
    ...system.env,
    MSGXC_START_STACK: 'false',
    MSGXC_METRICS_PORT: String(await freePort()),
    MSGXC_HTTP_PORT: String(await freePort()),
    MSGXC_WS_PORT: String(await freePort()),
  };
  const npm = spawn('npm', ['start'], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const up = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      output += chunk.toString();
      if (output.includes('"msg":"msgxc is up"')) resolve();
    };
    npm.stdout?.on('data', onData);
    npm.stderr?.on('data', onData);
    npm.once('exit', (code) =>
      reject(new Error(`npm start exited (${code}) before msgxc was up:\n${output.slice(-3000)}`)),
    );
  });
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  await up;
  const [msgxcPid] = childrenOf(npm.pid!);
  expect(msgxcPid, 'npm start runs msgxc as its child').toBeDefined();
  return { npm, msgxcPid: msgxcPid!, exited };
}

describe('npm start and signals', () => {
  it('SIGTERM to npm stops msgxc cleanly', async () => {
    const started = await npmStart('sigterm');
    started.npm.kill('SIGTERM');
    await started.exited;
    await until(() => !alive(started.msgxcPid), 60_000, 'msgxc to exit after npm got SIGTERM');
    expect(alive(started.msgxcPid)).toBe(false);
  });

  it('msgxc stops by itself when npm is killed outright', async () => {
    const started = await npmStart('sigkill');
    started.npm.kill('SIGKILL');
    await started.exited;
    await until(() => !alive(started.msgxcPid), 60_000, 'the orphaned msgxc to exit');
    expect(alive(started.msgxcPid)).toBe(false);
  });
});
