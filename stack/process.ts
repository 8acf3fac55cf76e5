import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname } from 'node:path';

/** Process bookkeeping for the local stack: pid files, port probes, detached launches. */

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return true;
    return false;
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolvePromise(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when this process could bind 127.0.0.1:port right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

export interface Launch {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: Record<string, string>;
  /**
   * Linux timer slack for every thread of the server, in nanoseconds (the kernel's default is 50 µs): how late
   * the kernel may end a timed wait to group wake-ups. See cassandra.ts for the server that needs it.
   */
  timerSlackNs?: number;
}

const timerSlackFile = '/proc/self/timerslack_ns';

/**
 * The command that starts `launch` with its timer slack set: a shell writes its own slack and execs the
 * server, whose threads inherit it from the thread that creates them. Where the kernel has no such file
 * (not Linux, or older than 4.6) the server starts as it is.
 */
export function commandOf(launch: Launch): { command: string; args: string[] } {
  if (launch.timerSlackNs === undefined || !existsSync(timerSlackFile)) {
    return { command: launch.command, args: launch.args };
  }
  const script = `echo "$0" > ${timerSlackFile} || echo "timer slack not set; starting with the default" >&2; exec "$@"`;
  return { command: '/bin/sh', args: ['-c', script, String(launch.timerSlackNs), launch.command, ...launch.args] };
}

/** Starts a server in its own process group so `down` can stop it and everything it forked. */
export function launchDetached(launch: Launch): number {
  mkdirSync(dirname(launch.logFile), { recursive: true });
  const out = openSync(launch.logFile, 'a');
  const { command, args } = commandOf(launch);
  const child = spawn(command, args, {
    cwd: launch.cwd,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...launch.env },
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${launch.command}`);
  child.unref();
  writeFileSync(launch.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM the process group, wait, then SIGKILL whatever is left. */
export async function stopProcess(pid: number, pidFile: string, graceMs = 20_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // The group is gone already (ESRCH): nothing left to signal.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signal('SIGKILL');
  while (isAlive(pid)) await sleep(100);
  rmSync(pidFile, { force: true });
}

export const sleep = (ms: number) => new Promise<void>((resolvePromise) => setTimeout(resolvePromise, ms));
