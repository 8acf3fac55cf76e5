import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../pipeline/config/index.ts';
import { StackError, up } from '../../stack/index.ts';

const root = join(import.meta.dirname, '..', '..');
const isolated = (extra: Record<string, string>) => ({
  ...process.env,
  MSGXC_STATE_DIR: mkdtempSync(join(tmpdir(), 'msgxc-stack-')),
  MSGXC_KAFKA_PORT: '29092',
  MSGXC_KAFKA_CONTROLLER_PORT: '29093',
  MSGXC_REGISTRY_PORT: '28081',
  MSGXC_CASSANDRA_PORT: '29042',
  MSGXC_CASSANDRA_STORAGE_PORT: '27000',
  MSGXC_SEARCH_PORT: '19200',
  MSGXC_CONNECT_PORT: '18093',
  ...extra,
});

let holder: Server | undefined;
afterEach(async () => {
  await new Promise((resolvePromise) => (holder ? holder.close(resolvePromise) : resolvePromise(undefined)));
  holder = undefined;
});

describe('npm run stack', () => {
  it('status exits non-zero and says "down" when servers are not running', () => {
    const result = spawnSync('npm', ['run', '-s', 'stack', '--', 'status'], {
      cwd: root,
      env: isolated({}),
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^kafka\s+down/m);
    expect(result.stdout).toMatch(/^cassandra\s+down/m);
  });

  it('up names the busy port and the variable that moves it', async () => {
    holder = createServer();
    await new Promise<void>((resolvePromise) => holder!.listen(29092, '127.0.0.1', resolvePromise));
    const config = parseConfig(isolated({}));
    const failure = await up(config.stack).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StackError);
    expect((failure as StackError).code).toBe('ERR_PORT_IN_USE');
    expect((failure as StackError).message).toContain('29092');
    expect((failure as StackError).message).toContain('MSGXC_KAFKA_PORT');
  });

  it('rejects unknown commands with usage and exit code 2', () => {
    const result = spawnSync('npm', ['run', '-s', 'stack', '--', 'sideways'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: npm run stack');
  });

  it('a missing JDK is a clear error saying what to install', async () => {
    const config = parseConfig(isolated({ MSGXC_JAVA_HOME: '/nonexistent/jdk' }));
    const failure = await up(config.stack).catch((error: unknown) => error);
    expect((failure as StackError).code).toBe('ERR_NO_JDK');
    expect((failure as StackError).message).toMatch(/Install a JDK 17/);
  });
});
