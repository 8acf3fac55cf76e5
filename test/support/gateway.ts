import { SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { createVerifier } from '../../pipeline/auth/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { type Gateway, type GatewayDependencies, startGateway } from '../../stages/gateway/gateway.ts';
import type { GatewayRecord } from '../../stages/gateway/session.ts';

/**
 * Helpers for tests and benches: an in-process gateway on an ephemeral port with the real JWT verifier,
 * and a client that queues the frames it receives. Thread permissions come from a plain map here; the
 * integration tests use the real store.
 */

export const testSecret = 'gateway-test-secret-at-least-32-characters-long';

export function testConfig(overrides: Record<string, string> = {}): Config {
  return parseConfig({
    ...process.env,
    MSGXC_LOG_LEVEL: 'silent',
    MSGXC_JWT_ALGORITHM: 'HS256',
    MSGXC_JWT_SECRET: testSecret,
    ...overrides,
  });
}

export async function signToken(
  uid: string,
  options: { admin?: boolean; expiresInSeconds?: number; secret?: string } = {},
): Promise<string> {
  return new SignJWT({ roles: options.admin ? ['admin'] : [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uid)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 600))
    .sign(new TextEncoder().encode(options.secret ?? testSecret));
}

export interface TestGateway {
  gateway: Gateway;
  records: GatewayRecord[];
  /** uid → tids the user may read. */
  readers: Map<string, Set<string>>;
  metrics: Registry;
  close(): Promise<void>;
}

export async function startTestGateway(
  options: { config?: Config; emit?: GatewayDependencies['emit'] } = {},
): Promise<TestGateway> {
  const config = options.config ?? testConfig();
  const verifier = createVerifier(config);
  const records: GatewayRecord[] = [];
  const readers = new Map<string, Set<string>>();
  const metrics = new Registry();
  const gateway = await startGateway({
    settings: { ...config.ws, port: 0 },
    log: createLogger(config, 'gateway-test'),
    metricsRegistry: metrics,
    authenticate: (token) => verifier.verify(token),
    canRead: async (uid, tid) => readers.get(uid)?.has(tid) ?? false,
    emit:
      options.emit ??
      (async (batch) => {
        records.push(...batch);
      }),
  });
  return { gateway, records, readers, metrics, close: () => gateway.close() };
}

export interface TestClient {
  socket: WebSocket;
  /** Frames received and not yet taken by `next`. */
  frames: Record<string, unknown>[];
  next(type?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(frame: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
}

export type Upgrade = { ok: true; client: TestClient } | { ok: false; status: number; body: string };

export function connect(
  url: string,
  options: { token?: string; protocols?: string[]; headers?: Record<string, string>; autoPong?: boolean } = {},
): Promise<Upgrade> {
  const headers = { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  const socket = new WebSocket(url, options.protocols ?? [], { headers, autoPong: options.autoPong ?? true });
  return new Promise<Upgrade>((resolve, reject) => {
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ ok: false, status: response.statusCode ?? 0, body }));
    });
    socket.once('error', reject);
    socket.once('open', () => {
      socket.off('error', reject);
      resolve({ ok: true, client: wrap(socket) });
    });
  });
}

/** Connects and expects the upgrade to succeed. */
export async function open(url: string, token: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
  const upgrade = await connect(url, { token, ...options });
  if (!upgrade.ok) throw new Error(`upgrade refused: ${upgrade.status} ${upgrade.body}`);
  return upgrade.client;
}

function wrap(socket: WebSocket): TestClient {
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  socket.on('error', () => undefined);
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters.splice(0)) wake();
    });
  });
  return {
    socket,
    frames,
    closed,
    send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async next(type, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = frames.findIndex((frame) => type === undefined || frame.type === type);
        if (index >= 0) return frames.splice(index, 1)[0]!;
        if (socket.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${type}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${type ?? 'frame'} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

/** Polls until the predicate holds; for state the server changes after a socket event. */
export async function eventually(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
