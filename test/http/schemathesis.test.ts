import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, dropTestData, type Harness, token } from './support.ts';

/**
 * The OpenAPI document against the server, by a client nobody here wrote: Schemathesis (PyPI) reads
 * `/api/v1/openapi.json`, generates requests from it (valid and invalid) and runs every check it has (no 5xx,
 * status codes, content types, headers and bodies as documented, invalid data refused, valid data accepted,
 * unsupported methods refused…). Bounded in examples per operation and in time. The tool lives in a venv under
 * ~/.cache/msgxc/ (made on first use, pinned version).
 */

const version = '4.32.5';
const venv = join(homedir(), '.cache', 'msgxc', `schemathesis-${version}`);
const st = join(venv, 'bin', 'st');
const run = promisify(execFile);

let h: Harness;
let server: ServerType;
let base: string;

beforeAll(async () => {
  if (!existsSync(st)) {
    await mkdir(join(homedir(), '.cache', 'msgxc'), { recursive: true });
    await run('python3', ['-m', 'venv', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${version}`], { timeout: 300_000 });
  }
  h = await createHarness();
  server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(created));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 360_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
  if (h) await dropTestData(h.config);
});

describe('the OpenAPI document against the server (Schemathesis, every check)', () => {
  it('finds no mismatch', async () => {
    const bearer = await token({ sub: 'schemathesis', expiresIn: '1h' });
    const args = [
      'run',
      `${base}/api/v1/openapi.json`,
      '--checks',
      'all',
      '--max-examples',
      '12',
      '--max-time',
      '150',
      '--seed',
      '20261129',
      '--workers',
      '1',
      '--request-timeout',
      '20',
      '--header',
      `Authorization: Bearer ${bearer}`,
      '--no-color',
    ];
    const result = await run(st, args, { timeout: 240_000, maxBuffer: 32 * 1024 * 1024 }).then(
      ({ stdout }) => ({ ok: true, output: stdout }),
      (error: { stdout?: string; stderr?: string; message: string }) => ({
        ok: false,
        output: `${error.stdout ?? ''}\n${error.stderr ?? ''}\n${error.message}`,
      }),
    );
    expect(result.ok, result.output.slice(-20_000)).toBe(true);
  }, 300_000);
});
