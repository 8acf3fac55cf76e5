import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../bench/harness/ports.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { findJava } from '../../stack/java.ts';
import { resolveArtifact } from '../../stack/resolve.ts';
import { connectServer, workerCommand, workerProperties, workerServesSink } from '../../stack/servers/connect.ts';
import { installPlugins } from '../../stack/servers/connect-plugins.ts';
import { eventually } from './support.ts';

/**
 * Extra Connect workers for tests (their directory name carries `msgxc-test-fixture`, which .ci/run's
 * clean-up looks for should a test die before stopping them): their own group id and internal topics (under the test's topic
 * prefix), a free port each, so they form a cluster of their own beside the shared worker.
 */
export interface TestWorker {
  url: string;
  port: number;
  process: ChildProcess;
  /** kill -9: no shutdown, no offset commit, no goodbye to the group. */
  crash(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

export async function startWorker(config: Config, options: { groupId: string; port?: number }): Promise<TestWorker> {
  const home = join(config.stack.cacheDir, `connect-${connectServer.version}`);
  await resolveArtifact('connect', connectServer.artifact, home, () => undefined);
  const java = findJava(config.stack);
  const dir = mkdtempSync(join(tmpdir(), 'msgxc-test-fixture-connect-'));
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const propertiesFile = join(dir, 'worker.properties');
  writeFileSync(
    propertiesFile,
    workerProperties({
      brokers: config.kafka.brokers.join(','),
      restPort: port,
      groupId: options.groupId,
      topicPrefix: `${config.kafka.topicPrefix}${options.groupId}.`,
      pluginPath: installPlugins(home, dir),
    }),
  );
  const logFile = join(dir, 'worker.log');
  const out = openSync(logFile, 'a');
  const child = spawn(java.bin, workerCommand(home, propertiesFile, '384m'), {
    cwd: dir,
    detached: true,
    stdio: ['ignore', out, out],
  });
  const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  const url = `http://127.0.0.1:${port}`;
  const worker: TestWorker = {
    url,
    port,
    process: child,
    log: () => readFileSync(logFile, 'utf8'),
    async crash() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`worker exited during start-up:\n${worker.log().slice(-3000)}`);
      return (await workerServesSink(url)) ? true : undefined;
    },
    `Connect worker on ${url}`,
    300_000,
  );
  return worker;
}
