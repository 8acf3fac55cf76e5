import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import {
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import {
  type Answer,
  headerRecord,
  type ProviderServer,
  type Received,
  readBody,
  type Script,
  tlsOptions,
} from './common.ts';

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
  const key = await importSPKI(options.publicKeyPem, 'RS256');
  const received: Received[] = [];
  const refused: { at: number; reason: string }[] = [];
  const accessTokens = new Set<string>();
  const unregistered = new Set<string>();
  let script: Script | undefined;
  let tokensIssued = 0;

  const tokenServer = createHttpServer((request, response) => {
    void (async () => {
      const form = new URLSearchParams((await readBody(request)).toString('utf8'));
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.method !== 'POST' || form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        refused.push({ at: Date.now(), reason: 'token: unsupported grant' });
        return send(400, { error: 'unsupported_grant_type' });
      }
      try {
        const { payload } = await jwtVerify(form.get('assertion') ?? '', key, {
          algorithms: ['RS256'],
          issuer: options.clientEmail,
          audience: googleTokenUrl,
        });
        if (!String(payload.scope ?? '').includes('https://www.googleapis.com/auth/firebase.messaging')) {
          refused.push({ at: Date.now(), reason: 'token: scope without firebase.messaging' });
          return send(400, { error: 'invalid_scope' });
        }
      } catch (error) {
        refused.push({ at: Date.now(), reason: `token: ${(error as Error).message}` });
        return send(400, { error: 'invalid_grant' });
      }
      const token = `ya29.local-${randomBytes(16).toString('hex')}`;
      accessTokens.add(token);
      tokensIssued += 1;
      send(200, { access_token: token, expires_in: 3_599, token_type: 'Bearer' });
    })();
  });

  const androidProblem = (android: Record<string, unknown> | undefined): string | null => {
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
  };

  /** One send, whatever the transport: HTTP/2 (FCM v1) or HTTP/1.1 (firebase-admin's legacy transport). */
  const handle = async (method: string, path: string, raw: IncomingHttpHeaders, body: Buffer): Promise<Answer> => {
    const headers = headerRecord(raw);
    const refuse = (result: Answer, reason: string) => {
      refused.push({ at: Date.now(), reason });
      return result;
    };
    if (method !== 'POST' || path !== `/v1/projects/${options.projectId}/messages:send`) {
      return refuse(
        { status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: path } } },
        `unknown path ${path}`,
      );
    }
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (!bearer || !accessTokens.has(bearer)) {
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
    const scripted = unregistered.has(message.token)
      ? fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.')
      : script?.({ target: message.token, headers, payload: message });
    const status = scripted?.status ?? 200;
    received.push({ provider: 'fcm', at: Date.now(), target: message.token, headers, payload: message, status });
    return (
      scripted ?? {
        status: 200,
        body: { name: `projects/${options.projectId}/messages/${randomBytes(8).toString('hex')}` },
      }
    );
  };

  const server = createSecureServer({ ...tlsOptions(), allowHTTP1: true, settings: { maxConcurrentStreams: 1_000 } });
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  // The compatibility API serves both HTTP/2 streams and HTTP/1.1 requests.
  server.on('request', (request: Http2ServerRequest, response: Http2ServerResponse) => {
    void (async () => {
      let answer: Answer;
      try {
        answer = await handle(request.method, request.url, request.headers, await readBody(request));
      } catch (error) {
        answer = fcmError(500, 'INTERNAL', 'INTERNAL', String(error));
      }
      if (response.destroyed) return;
      response.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', ...answer.headers });
      response.end(JSON.stringify(answer.body ?? {}));
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const tokenPort = (tokenServer.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    tokenUrl: `http://127.0.0.1:${tokenPort}/token`,
    projectId: options.projectId,
    port,
    received,
    refused,
    get script() {
      return script;
    },
    set script(value) {
      script = value;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    unregister(token) {
      unregistered.add(token);
    },
    close: async () => {
      for (const session of sessions) session.destroy();
      tokenServer.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => tokenServer.close(() => resolve())),
      ]);
    },
  };
}
