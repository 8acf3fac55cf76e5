import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * msgxc as real child processes: `node bin/msgxc.ts <command> …`, each with its own environment and log
 * file, killable one by one (SIGKILL included). The node binary is spawned directly, not through npx, so
 * a signal reaches the process that holds the consumers and sockets rather than a wrapper.
 */

const projectRoot = join(import.meta.dirname, '..', '..');
const pinnedNode = join(projectRoot, 'node_modules', 'node', 'bin', 'node');

/** Node 24 (the project's pinned `node` devDependency), whatever node runs the tests. */
export function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 24 || !existsSync(pinnedNode) ? process.execPath : pinnedNode;
}

export interface MsgxcProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves once a log line matches `pattern` (e.g. "stages running"); rejects if the process exits first. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The last lines the process wrote, for failure messages. */
  tail(lines?: number): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no shutdown hooks, no commits, no goodbye. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL when it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** If the test process dies without its afterAll, its children must not outlive it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

let signalHookInstalled = false;

/**
 * A child in a session of its own does not get the terminal's Ctrl-C: the parent passes it on (SIGKILL, as
 * the exit hook would) and exits as the signal would have made it.
 */
function installSignalHook(): void {
  if (signalHookInstalled) return;
  signalHookInstalled = true;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      process.exit(code);
    });
  }
}

export interface SpawnOptions {
  /**
   * Its own session (setsid), as a service under a process manager has: on Linux with autogroup, each
   * session is one scheduling group, so ten stage processes in the parent's session would share one
   * group's CPU and a bulk process's priority would not reach the others (pipeline/runtime/cpu-priority.ts).
   */
  ownSession?: boolean;
}

export function spawnMsgxc(
  name: string,
  args: string[],
  env: Record<string, string | undefined>,
  logDir: string,
  { ownSession = false }: SpawnOptions = {},
): MsgxcProcess {
  installExitHook();
  if (ownSession) installSignalHook();
  const logFile = join(logDir, `${name}.log`);
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    nodeBinary(),
    ['--experimental-strip-types', '--no-warnings=ExperimentalWarning', 'bin/msgxc.ts', ...args],
    { cwd: projectRoot, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: ownSession },
  );
  live.add(child);
  const recent: string[] = [];
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      log.write(`--- exited code=${code} signal=${signal}\n`);
      resolve({ code, signal });
    });
  });
  const onLine = (line: string) => {
    log.write(`${line}\n`);
    recent.push(line);
    if (recent.length > 200) recent.shift();
    for (const watcher of [...watchers]) {
      if (watcher.pattern.test(line)) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  void exited.then(() => log.end());

  const handle: MsgxcProcess = {
    name,
    child,
    logFile,
    exited,
    tail: (lines = 30) => recent.slice(-lines).join('\n'),
    waitForLog(pattern, timeoutMs = 120_000) {
      if (recent.some((line) => pattern.test(line))) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${name}: no log line matching ${pattern} within ${timeoutMs} ms\n${handle.tail()}`));
        }, timeoutMs);
        watchers.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (code ${code}, signal ${signal}) before ${pattern}\n${handle.tail()}`));
        });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return handle;
}
