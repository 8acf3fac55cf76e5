import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders } from 'node:http2';
import { type CryptoKey, importSPKI, jwtVerify } from 'jose';
import { type Answer, headerRecord, type ProviderServer, readBody } from './common.ts';
import { closeServer, listenOnLoopback, ProviderLog, secureHttp2Server } from './server.ts';

/**
 * FCM HTTP v1 on TLS HTTP/2 (`POST /v1/projects/<project>/messages:send`) plus the OAuth 2.0 token endpoint a
 * service account uses (plain HTTP `POST /token`, JWT-bearer grant: an RS256 assertion signed by the
 * service account's key, `iss` = its e-mail, `aud` = Google's token URL, `scope` with firebase.messaging).
 * A send needs a bearer token this server issued, a `message.token`, and android fields as FCM checks them
 * (`priority` HIGH/NORMAL, `ttl` like "3600s", `collapse_key`). Answers like FCM: 200 `{name}`, 404
 * `UNREGISTERED`, 400 `INVALID_ARGUMENT`, 429 `QUOTA_EXCEEDED`, 503 `UNAVAILABLE` (errors in the
 * google.rpc.Status shape with a FcmError detail).
 */
export interface FcmServer extends ProviderServer {
  /** Where a service account gets its access token (MSGXC_FCM_TOKEN_URL). */
  tokenUrl: string;
  projectId: string;
  /** The registration token is no longer valid: 404 UNREGISTERED from now on. */
  unregister(token: string): void;
  tokensIssued: number;
}

export interface FcmServerOptions {
  projectId: string;
  clientEmail: string;
  /** The service account's public key (SPKI PEM). */
  publicKeyPem: string;
  port?: number;
}

export const googleTokenUrl = 'https://oauth2.googleapis.com/token';

export function fcmError(status: number, rpcStatus: string, errorCode: string, message = errorCode): Answer {
  return {
    status,
    body: {
      error: {
        code: status,
        message,
        status: rpcStatus,
        details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
      },
    },
  };
}

export async function startFcmServer(options: FcmServerOptions): Promise<FcmServer> {
  const fcm: FcmState = {
    options,
    key: await importSPKI(options.publicKeyPem, 'RS256'),
    log: new ProviderLog(),
    accessTokens: new Set<string>(),
    unregistered: new Set<string>(),
    tokensIssued: 0,
  };
  const { log } = fcm;
  const tokenServer = createHttpServer((request, response) => {
    void issueToken(fcm, request, response);
  });
  const { server, destroySessions } = secureHttp2Server({ allowHTTP1: true, maxConcurrentStreams: 1_000 });
  // The compatibility API serves both HTTP/2 streams and HTTP/1.1 requests.
  server.on('request', (request: Http2ServerRequest, response: Http2ServerResponse) => {
    void answerSend(fcm, request, response);
  });
  const port = await listenOnLoopback(server, options.port);
  const tokenPort = await listenOnLoopback(tokenServer);
  return {
    url: `https://127.0.0.1:${port}`,
    tokenUrl: `http://127.0.0.1:${tokenPort}/token`,
    projectId: options.projectId,
    port,
    received: log.received,
    refused: log.refused,
    get script() {
      return log.script;
    },
    set script(value) {
      log.script = value;
    },
    get tokensIssued() {
      return fcm.tokensIssued;
    },
    unregister(token) {
      fcm.unregistered.add(token);
    },
    close: async () => {
      destroySessions();
      tokenServer.closeAllConnections();
      await Promise.all([closeServer(server), closeServer(tokenServer)]);
    },
  };
}

interface FcmState {
  options: FcmServerOptions;
  /** The service account's public key. */
  key: CryptoKey;
  log: ProviderLog;
  accessTokens: Set<string>;
  unregistered: Set<string>;
  tokensIssued: number;
}

/** The OAuth token endpoint: a JWT-bearer grant signed by the service account earns an access token. */
async function issueToken(fcm: FcmState, request: IncomingMessage, response: ServerResponse) {
  const form = new URLSearchParams((await readBody(request)).toString('utf8'));
  const send = (status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  if (request.method !== 'POST' || form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
    fcm.log.refuse('token: unsupported grant');
    return send(400, { error: 'unsupported_grant_type' });
  }
  try {
    const { payload } = await jwtVerify(form.get('assertion') ?? '', fcm.key, {
      algorithms: ['RS256'],
      issuer: fcm.options.clientEmail,
      audience: googleTokenUrl,
    });
    if (!String(payload.scope ?? '').includes('https://www.googleapis.com/auth/firebase.messaging')) {
      fcm.log.refuse('token: scope without firebase.messaging');
      return send(400, { error: 'invalid_scope' });
    }
  } catch (error) {
    fcm.log.refuse(`token: ${(error as Error).message}`);
    return send(400, { error: 'invalid_grant' });
  }
  const token = `ya29.local-${randomBytes(16).toString('hex')}`;
  fcm.accessTokens.add(token);
  fcm.tokensIssued += 1;
  send(200, { access_token: token, expires_in: 3_599, token_type: 'Bearer' });
}

function androidProblem(android: Record<string, unknown> | undefined): string | null {
  if (android === undefined) return null;
  if (
    android.priority !== undefined &&
    android.priority !== 'HIGH' &&
    android.priority !== 'NORMAL' &&
    android.priority !== 'high' &&
    android.priority !== 'normal'
  ) {
    return 'android.priority must be HIGH or NORMAL';
  }
  if (android.ttl !== undefined && !/^\d+(\.\d{1,9})?s$/.test(String(android.ttl)))
    return 'android.ttl must look like "3600s"';
  return null;
}

async function answerSend(fcm: FcmState, request: Http2ServerRequest, response: Http2ServerResponse) {
  let answer: Answer;
  try {
    answer = await handle(fcm, request.method, request.url, request.headers, await readBody(request));
  } catch (error) {
    answer = fcmError(500, 'INTERNAL', 'INTERNAL', String(error));
  }
  if (response.destroyed) return;
  response.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', ...answer.headers });
  response.end(JSON.stringify(answer.body ?? {}));
}

/** One send, whatever the transport: HTTP/2 (FCM v1) or HTTP/1.1 (firebase-admin's legacy transport). */
async function handle(
  fcm: FcmState,
  method: string,
  path: string,
  raw: IncomingHttpHeaders,
  body: Buffer,
): Promise<Answer> {
  const { projectId } = fcm.options;
  const headers = headerRecord(raw);
  const refuse = (result: Answer, reason: string) => {
    fcm.log.refuse(reason);
    return result;
  };
  if (method !== 'POST' || path !== `/v1/projects/${projectId}/messages:send`) {
    return refuse(
      { status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: path } } },
      `unknown path ${path}`,
    );
  }
  const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
  if (!bearer || !fcm.accessTokens.has(bearer)) {
    return refuse(
      { status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED', message: 'bad token' } } },
      'bad bearer token',
    );
  }
  let message: { token?: string; android?: Record<string, unknown> } & Record<string, unknown>;
  try {
    message = (JSON.parse(body.toString('utf8')) as { message: typeof message }).message;
  } catch {
    return refuse(fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'body is not JSON'), 'body is not JSON');
  }
  if (typeof message?.token !== 'string' || message.token === '') {
    return refuse(
      fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'message.token missing'),
      'message.token missing',
    );
  }
  const problem = androidProblem(message.android);
  if (problem) return refuse(fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', problem), problem);
  const scripted = fcm.unregistered.has(message.token)
    ? fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.')
    : fcm.log.script?.({ target: message.token, headers, payload: message });
  const status = scripted?.status ?? 200;
  fcm.log.received.push({ provider: 'fcm', at: Date.now(), target: message.token, headers, payload: message, status });
  return (
    scripted ?? {
      status: 200,
      body: { name: `projects/${projectId}/messages/${randomBytes(8).toString('hex')}` },
    }
  );
}
