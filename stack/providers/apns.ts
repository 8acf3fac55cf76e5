import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { type CryptoKey, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { type Answer, headerRecord, type ProviderServer, readBody } from './common.ts';
import { closeServer, listenOnLoopback, ProviderLog, secureHttp2Server } from './server.ts';

/**
 * APNs over TLS HTTP/2 on 127.0.0.1:<port> (the provider API, token auth): `POST /3/device/<token>` must carry
 * `authorization: bearer <ES256 JWT>` with `kid` = the key id and `iss` = the team id, signed by the .p8 key
 * whose public half this server holds, issued within the last hour; `apns-topic`, `apns-push-type`
 * (alert/background/…), `apns-priority` 5 or 10 (10 not with a background push), `apns-expiration` (epoch
 * seconds), `apns-collapse-id` ≤ 64 bytes, `apns-id` a UUID; a JSON body ≤ 4096 bytes with `aps`. Answers
 * like APNs: 200 with `apns-id`; 400 `{reason}`; 403 for a bad token; 410 `{reason: Unregistered, timestamp}`
 * for an unregistered device. Advertises `maxConcurrentStreams` as APNs does (1000 by default).
 */
export interface ApnsServer extends ProviderServer {
  address: string;
  /** The device token was unregistered at `at` (ms): it answers 410 with that timestamp from now on. */
  unregister(token: string, at?: number): void;
}

export interface ApnsServerOptions {
  /** The public key of the provider's .p8 (SPKI PEM). */
  publicKeyPem: string;
  keyId: string;
  teamId: string;
  topic: string;
  port?: number;
  maxConcurrentStreams?: number;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const pushTypes = new Set([
  'alert',
  'background',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'location',
  'liveactivity',
  'pushtotalk',
]);

export async function startApnsServer(options: ApnsServerOptions): Promise<ApnsServer> {
  const apns: ApnsState = {
    options,
    key: await importSPKI(options.publicKeyPem, 'ES256'),
    log: new ProviderLog(),
    unregistered: new Map<string, number>(),
  };
  const { log, unregistered } = apns;
  const { server, destroySessions } = secureHttp2Server({
    maxConcurrentStreams: options.maxConcurrentStreams ?? 1_000,
  });
  server.on('stream', (stream, headers) => {
    handle(apns, stream, headers).catch((error: unknown) =>
      reply(stream, 'error', { status: 500, body: { reason: 'InternalServerError', detail: String(error) } }),
    );
  });
  const port = await listenOnLoopback(server, options.port);
  return {
    url: `https://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    received: log.received,
    refused: log.refused,
    get script() {
      return log.script;
    },
    set script(value) {
      log.script = value;
    },
    unregister(token, at = Date.now()) {
      unregistered.set(token, at);
    },
    close: () => {
      destroySessions();
      return closeServer(server);
    },
  };
}

interface ApnsState {
  options: ApnsServerOptions;
  key: CryptoKey;
  log: ProviderLog;
  /** Device token → when it was unregistered (ms). */
  unregistered: Map<string, number>;
}

function reply(stream: ServerHttp2Stream, apnsId: string, result: Answer) {
  if (stream.destroyed) return;
  stream.respond({ ':status': result.status, 'apns-id': apnsId, ...result.headers });
  stream.end(result.body === undefined ? undefined : JSON.stringify(result.body));
}

async function verifyToken(apns: ApnsState, authorization: string | undefined): Promise<string | null> {
  const jwt = /^bearer (.+)$/i.exec(authorization ?? '')?.[1];
  if (!jwt) return 'MissingProviderToken';
  try {
    if (decodeProtectedHeader(jwt).kid !== apns.options.keyId) return 'InvalidProviderToken';
    const { payload } = await jwtVerify(jwt, apns.key, { algorithms: ['ES256'], issuer: apns.options.teamId });
    if (typeof payload.iat !== 'number' || payload.iat < Date.now() / 1000 - 3_600) return 'ExpiredProviderToken';
    return null;
  } catch {
    return 'InvalidProviderToken';
  }
}

function headerProblem(headers: Record<string, string>, topic: string): string | null {
  if (headers['apns-topic'] !== topic) return 'TopicDisallowed';
  if (!pushTypes.has(headers['apns-push-type'] ?? '')) return 'InvalidPushType';
  const priority = headers['apns-priority'];
  if (priority !== undefined && priority !== '5' && priority !== '10') return 'BadPriority';
  if (priority === '10' && headers['apns-push-type'] === 'background') return 'BadPriority';
  if (headers['apns-expiration'] !== undefined && !/^\d+$/.test(headers['apns-expiration'])) return 'BadExpirationDate';
  if (headers['apns-collapse-id'] !== undefined && Buffer.byteLength(headers['apns-collapse-id']) > 64)
    return 'BadCollapseId';
  if (headers['apns-id'] !== undefined && !uuidPattern.test(headers['apns-id'])) return 'BadMessageId';
  return null;
}

async function handle(apns: ApnsState, stream: ServerHttp2Stream, raw: IncomingHttpHeaders) {
  const body = await readBody(stream);
  const headers = headerRecord(raw);
  const apnsId = headers['apns-id'] ?? randomUUID();
  const token = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(String(raw[':path']))?.[1];
  const refuse = (status: number, reason: string) => {
    apns.log.refuse(reason);
    reply(stream, apnsId, { status, body: { reason } });
  };
  if (raw[':method'] !== 'POST') return refuse(405, 'MethodNotAllowed');
  if (!token) return refuse(400, 'BadDeviceToken');
  const tokenProblem = await verifyToken(apns, headers.authorization);
  if (tokenProblem) return refuse(403, tokenProblem);
  const problem = headerProblem(headers, apns.options.topic);
  if (problem) return refuse(400, problem);
  if (body.length > 4096) return refuse(413, 'PayloadTooLarge');
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return refuse(400, 'PayloadEmpty');
  }
  if (typeof payload !== 'object' || payload === null || !('aps' in payload)) return refuse(400, 'PayloadEmpty');
  const unregisteredAt = apns.unregistered.get(token);
  const scripted =
    unregisteredAt !== undefined
      ? { status: 410, body: { reason: 'Unregistered', timestamp: unregisteredAt } }
      : apns.log.script?.({ target: token, headers, payload });
  const status = scripted?.status ?? 200;
  apns.log.received.push({ provider: 'apns', at: Date.now(), target: token, headers, payload, status });
  reply(stream, apnsId, scripted ?? { status: 200 });
}
