import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from '../pipeline/config/index.ts';
import { StackError } from './errors.ts';
import { findJava, type Java } from './java.ts';
import { isAlive, launchDetached, portAnswers, portIsFree, readPid, sleep, stopProcess } from './process.ts';
import { resolveArtifact } from './resolve.ts';
import { cassandraServer } from './servers/cassandra.ts';
import { connectServer } from './servers/connect.ts';
import { kafkaServer } from './servers/kafka.ts';
import { opensearchServer } from './servers/opensearch.ts';
import { registryServer } from './servers/registry.ts';
import type { ServerDefinition } from './servers/types.ts';

export { StackError } from './errors.ts';
export type { ServerDefinition } from './servers/types.ts';

/** Reporting is optional: callers that do not want progress lines pass nothing. */
const ignoreLine = (_line: string): void => undefined;

export const servers: readonly ServerDefinition[] = [
  kafkaServer,
  registryServer,
  cassandraServer,
  opensearchServer,
  connectServer,
];

export type ServerState = 'healthy' | 'starting' | 'down' | 'foreign';

export interface ServerStatus {
  name: ServerDefinition['name'];
  title: string;
  state: ServerState;
  pid: number | undefined;
  endpoint: string;
  rssMiB: number | undefined;
}

const paths = (stack: StackConfig, server: ServerDefinition) => ({
  home: join(stack.cacheDir, `${server.name}-${server.version}`),
  dir: join(stack.stateDir, server.name),
  pidFile: join(stack.stateDir, server.name, 'server.pid'),
  logFile: join(stack.stateDir, server.name, 'server.log'),
});

function residentMiB(pid: number): number | undefined {
  const statusFile = `/proc/${pid}/status`;
  if (!existsSync(statusFile)) return undefined;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(statusFile, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : undefined;
}

export async function serverStatus(stack: StackConfig, server: ServerDefinition): Promise<ServerStatus> {
  const { pidFile } = paths(stack, server);
  const recorded = readPid(pidFile);
  const pid = recorded !== undefined && isAlive(recorded) ? recorded : undefined;
  const healthy = await server.healthy(stack);
  let state: ServerState;
  if (pid !== undefined) state = healthy ? 'healthy' : 'starting';
  else state = healthy ? 'foreign' : 'down';
  return {
    name: server.name,
    title: server.title,
    state,
    pid,
    endpoint: server.endpoint(stack),
    rssMiB: pid === undefined ? undefined : residentMiB(pid),
  };
}

export function status(stack: StackConfig): Promise<ServerStatus[]> {
  return Promise.all(servers.map((server) => serverStatus(stack, server)));
}

export interface UpOptions {
  report?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * Brings every server up and waits until each is healthy. Servers this project already runs are
 * left alone; a port held by anything else is an error naming the port and its variable.
 */
export async function up(stack: StackConfig, options: UpOptions = {}): Promise<ServerStatus[]> {
  const report = options.report ?? ignoreLine;
  const timeoutMs = options.timeoutMs ?? 180_000;
  mkdirSync(stack.stateDir, { recursive: true });
  const java = findJava(stack);
  const toStart = await serversToStart(stack, report);

  // Resolve one at a time: parallel Maven runs would race on the shared local repository.
  for (const server of toStart) {
    await resolveArtifact(server.name, server.artifact, paths(stack, server).home, report);
  }

  const started = Date.now();
  // Prepare everything before launching anything, so a configuration error leaves no half-started stack.
  for (const server of toStart) {
    const { home, dir } = paths(stack, server);
    mkdirSync(dir, { recursive: true });
    await server.prepare({ stack, java, home, dir });
  }
  const launcher = new Launcher(stack, java, toStart, report);
  launcher.launchReady();
  await waitUntilHealthy(stack, launcher, { started, timeoutMs, report });
  return status(stack);
}

/** The servers not running yet; a port held by anything else is an error naming the port and its variable. */
async function serversToStart(stack: StackConfig, report: (line: string) => void): Promise<ServerDefinition[]> {
  const toStart: ServerDefinition[] = [];
  for (const server of servers) {
    const { pidFile } = paths(stack, server);
    const pid = readPid(pidFile);
    if (pid !== undefined && isAlive(pid)) {
      report(`${server.name}: already running (pid ${pid})`);
      continue;
    }
    for (const { port, variable } of server.ports(stack)) {
      if (!(await portIsFree(port)) || (await portAnswers(port, 300))) {
        throw new StackError(
          'ERR_PORT_IN_USE',
          `${server.name}: port ${port} is already in use by another process. Stop that process, or choose ` +
            `another port with ${variable}=<port> (and use the same variable for every msgxc command).`,
        );
      }
    }
    toStart.push(server);
  }
  return toStart;
}

/** Launches a server once its requirements are healthy (Connect after Kafka). */
class Launcher {
  readonly #stack: StackConfig;
  readonly #java: Java;
  readonly #toStart: ServerDefinition[];
  readonly #report: (line: string) => void;
  /** Servers to start that are not launched yet. */
  readonly unlaunched: Set<string>;
  readonly healthyNames: Set<string>;

  constructor(stack: StackConfig, java: Java, toStart: ServerDefinition[], report: (line: string) => void) {
    this.#stack = stack;
    this.#java = java;
    this.#toStart = toStart;
    this.#report = report;
    this.unlaunched = new Set(toStart.map((server) => server.name));
    this.healthyNames = new Set(servers.filter((server) => !toStart.includes(server)).map((server) => server.name));
  }

  launchReady(): void {
    for (const server of this.#toStart.filter((candidate) => this.unlaunched.has(candidate.name))) {
      if (!(server.requires ?? []).every((name) => this.healthyNames.has(name))) continue;
      const { home, dir, pidFile, logFile } = paths(this.#stack, server);
      const pid = launchDetached({
        ...server.launch({ stack: this.#stack, java: this.#java, home, dir }),
        logFile,
        pidFile,
      });
      this.unlaunched.delete(server.name);
      this.#report(`${server.name}: started (pid ${pid}), log ${logFile}`);
    }
  }
}

async function waitUntilHealthy(
  stack: StackConfig,
  launcher: Launcher,
  { started, timeoutMs, report }: { started: number; timeoutMs: number; report: (line: string) => void },
): Promise<void> {
  const waiting = new Set(servers.map((server) => server.name));
  const deadline = Date.now() + timeoutMs;
  while (waiting.size > 0) {
    for (const server of servers.filter((candidate) => waiting.has(candidate.name))) {
      if (launcher.unlaunched.has(server.name)) continue;
      const { pidFile, logFile } = paths(stack, server);
      const pid = readPid(pidFile);
      if (pid === undefined || !isAlive(pid)) {
        throw new StackError(
          'ERR_SERVER_EXITED',
          `${server.name} exited during start-up. Its log: ${logFile}\n${tailOf(logFile, 25)}`,
        );
      }
      if (await server.healthy(stack)) {
        waiting.delete(server.name);
        launcher.healthyNames.add(server.name);
        report(`${server.name}: healthy after ${((Date.now() - started) / 1000).toFixed(1)}s`);
      }
    }
    launcher.launchReady();
    if (waiting.size === 0) break;
    if (Date.now() > deadline) {
      throw new StackError(
        'ERR_START_TIMEOUT',
        `not healthy within ${timeoutMs / 1000}s: ${[...waiting].join(', ')}. Logs are under ${stack.stateDir}.`,
      );
    }
    await sleep(500);
  }
}

/** Stops only the servers this project started, by their recorded process ids. */
export async function down(stack: StackConfig, report: (line: string) => void = ignoreLine): Promise<void> {
  await Promise.all(
    servers.map(async (server) => {
      const { pidFile } = paths(stack, server);
      const pid = readPid(pidFile);
      if (pid === undefined) return;
      if (!isAlive(pid)) {
        await stopProcess(pid, pidFile, 0);
        return;
      }
      await stopProcess(pid, pidFile);
      report(`${server.name}: stopped (pid ${pid})`);
    }),
  );
}

export function logFileOf(stack: StackConfig, name: string): string {
  const server = servers.find((candidate) => candidate.name === name);
  if (!server) {
    throw new StackError(
      'ERR_UNKNOWN_SERVER',
      `no server named ${name}; one of ${servers.map((s) => s.name).join(', ')}`,
    );
  }
  return paths(stack, server).logFile;
}

function tailOf(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}
