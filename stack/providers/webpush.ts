import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import ece from 'http_ece';
import { importJWK, jwtVerify } from 'jose';
import { type Answer, headerRecord, type ProviderServer, readBody } from './common.ts';
import { closeServer, listenOnLoopback, ProviderLog, tlsOptions } from './server.ts';

/**
 * A Web Push service (RFC 8030) on https://127.0.0.1:<port>: `subscribe()` makes a browser-like subscription
 * (P-256 key pair and auth secret kept here), a POST to its endpoint must carry a VAPID JWT (RFC 8292:
 * ES256, aud = this origin, exp in the future and at most 24 h ahead, sub set) signed by the key in `k`,
 * TTL and a valid Urgency (and Topic ≤ 32 base64url characters when present), and an aes128gcm body
 * (RFC 8291) that decrypts with the subscription's keys. Accepted: 201 with a Location; refused: 400/401/403.
 */
export interface WebPushServer extends ProviderServer {
  origin: string;
  subscribe(): { endpoint: string; keys: { p256dh: string; auth: string } };
  /** The push service forgets the subscription: its endpoint then answers 410 Gone. */
  expire(endpoint: string): void;
}

const urgencies = new Set(['very-low', 'low', 'normal', 'high']);

export async function startWebPushServer(options: { port?: number } = {}): Promise<WebPushServer> {
  const push: PushState = { keys: new Map(), gone: new Set(), log: new ProviderLog(), origin: '' };
  const { keys, gone, log } = push;
  const server = createServer(tlsOptions(), (request, response) => {
    handle(push, request, response).catch((error: unknown) =>
      answer(response, { status: 500, body: { error: String(error) } }),
    );
  });
  const port = await listenOnLoopback(server, options.port);
  const origin = `https://127.0.0.1:${port}`;
  push.origin = origin;
  return {
    url: origin,
    origin,
    port,
    received: log.received,
    refused: log.refused,
    get script() {
      return log.script;
    },
    set script(value) {
      log.script = value;
    },
    subscribe() {
      const id = randomBytes(12).toString('base64url');
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      keys.set(id, { ecdh, auth });
      return {
        endpoint: `${origin}/push/${id}`,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
      };
    },
    expire(endpoint) {
      const id = endpoint.split('/').pop();
      if (id) gone.add(id);
    },
    close: () => {
      server.closeAllConnections();
      return closeServer(server);
    },
  };
}

interface PushState {
  /** Subscription id → the browser's key pair and auth secret. */
  keys: Map<string, { ecdh: ReturnType<typeof createECDH>; auth: Buffer }>;
  /** Subscriptions the push service forgot. */
  gone: Set<string>;
  log: ProviderLog;
  /** This server's origin, the `aud` a VAPID JWT must name. */
  origin: string;
}

function answer(response: ServerResponse, result: Answer) {
  response.writeHead(result.status, { 'content-type': 'application/json', ...result.headers });
  response.end(result.body === undefined ? '' : JSON.stringify(result.body));
}

async function verifyVapid(authorization: string | undefined, origin: string): Promise<string | null> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match) return 'Authorization is not "vapid t=…, k=…"';
  const point = Buffer.from(match[2]!, 'base64url');
  if (point.length !== 65 || point[0] !== 4) return 'k is not an uncompressed P-256 public key';
  const key = await importJWK(
    {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    'ES256',
  );
  try {
    const { payload } = await jwtVerify(match[1]!, key, { algorithms: ['ES256'], audience: origin });
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp > now + 86_400) return 'exp missing or more than 24 h ahead';
    if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub))
      return 'sub is not a mailto: or https: URL';
    return null;
  } catch (error) {
    return `VAPID JWT: ${(error as Error).message}`;
  }
}

async function handle(push: PushState, request: IncomingMessage, response: ServerResponse) {
  const body = await readBody(request);
  const id = /^\/push\/([A-Za-z0-9_-]+)$/.exec(request.url ?? '')?.[1];
  if (request.method !== 'POST' || !id) return answer(response, { status: 404, body: { error: 'no such endpoint' } });
  const headers = headerRecord(request.headers);
  const refuse = (status: number, reason: string) => {
    push.log.refuse(reason);
    answer(response, { status, body: { error: reason } });
  };
  const vapidProblem = await verifyVapid(headers.authorization, push.origin);
  if (vapidProblem) return refuse(401, vapidProblem);
  if (!/^\d+$/.test(headers.ttl ?? '')) return refuse(400, 'TTL header missing or not a number');
  if (headers.urgency !== undefined && !urgencies.has(headers.urgency)) return refuse(400, 'bad Urgency');
  if (headers.topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(headers.topic)) return refuse(400, 'bad Topic');
  const subscription = push.keys.get(id);
  if (push.gone.has(id) || !subscription)
    return answer(response, { status: 410, body: { error: 'subscription expired' } });
  if (body.length > 4096) return refuse(413, 'payload over 4096 bytes');
  let payload: unknown = null;
  if (body.length > 0) {
    if (headers['content-encoding'] !== 'aes128gcm') return refuse(400, 'Content-Encoding is not aes128gcm');
    try {
      const plain = ece.decrypt(body, {
        version: 'aes128gcm',
        privateKey: subscription.ecdh,
        authSecret: subscription.auth.toString('base64url'),
      });
      const text = plain.toString('utf8');
      try {
        payload = JSON.parse(text);
      } catch {
        payload = text;
      }
    } catch (error) {
      return refuse(400, `payload does not decrypt: ${(error as Error).message}`);
    }
  }
  const scripted = push.log.script?.({ target: id, headers, payload });
  const status = scripted?.status ?? 201;
  push.log.received.push({ provider: 'webpush', at: Date.now(), target: id, headers, payload, status });
  answer(response, scripted ?? { status: 201, headers: { location: `${push.origin}/message/${randomUUID()}` } });
}
