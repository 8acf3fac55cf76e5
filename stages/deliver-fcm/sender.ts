import { readFileSync } from 'node:fs';
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from 'node:http2';
import { JWT } from 'google-auth-library';
import { mapLimit } from '../../pipeline/concurrency/index.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { parseRetryAfter } from '../../pipeline/delivery/retry-after.ts';
import { fcmMessageFor } from './message.ts';

export interface FcmSenderOptions {
  /** The service account JSON (client_email, private_key, project_id). */
  credentialsFile: string;
  projectId?: string | null;
  /** https://fcm.googleapis.com, or the sandbox's server. */
  endpoint: string;
  /** The OAuth token endpoint, when not Google's (the sandbox's). */
  tokenUrl?: string | null;
  caFile?: string | null;
  /** Requests in flight at once on the session. */
  concurrency?: number;
  maxBatch?: number;
}

const googleTokenUrl = 'https://oauth2.googleapis.com/token';
/** FCM's QUOTA_EXCEEDED asks for at least a minute of back-off (exponential, from 60 s). */
export const quotaBackoffMs = 60_000;

/**
 * A thin FCM HTTP v1 sender: one persistent `node:http2` session (firebase-admin's `sendEach` opens a new one
 * per call; see bench/channels.ts for the figures), one `messages:send` per token as FCM v1 requires, the
 * access token from `google-auth-library`'s JWT client (cached and refreshed by it). A token answered
 * UNREGISTERED is pruned; QUOTA_EXCEEDED throttles for ≥ 1 min; UNAVAILABLE/INTERNAL are transient, and only
 * the messages that got them are retried, so what FCM accepted is never sent twice (firebase-admin-node#1248).
 */
export function createFcmAdapter(options: FcmSenderOptions): ProviderAdapter {
  const { projectId, auth } = serviceAccountOf(options);
  const session = new FcmSession(options.endpoint, options.caFile ? readFileSync(options.caFile) : undefined);
  const path = `/v1/projects/${projectId}/messages:send`;
  const concurrency = options.concurrency ?? 100;
  return {
    provider: 'fcm',
    channel: 'fcm',
    maxBatch: options.maxBatch ?? 500,
    async send(messages, signal) {
      const { token } = await auth.getAccessToken();
      const authorization = `Bearer ${token}`;
      // One abort listener per call, not per stream: thousands of listeners on one signal cost more than the sends.
      const inFlight = new Set<ClientHttp2Stream>();
      const abort = () => {
        for (const stream of inFlight) stream.close(constants.NGHTTP2_CANCEL);
      };
      signal.addEventListener('abort', abort, { once: true });
      try {
        return await mapLimit(messages, concurrency, (message) =>
          sendOne(session, path, message, authorization, inFlight),
        );
      } finally {
        signal.removeEventListener('abort', abort);
      }
    },
    async close() {
      session.close();
    },
  };
}

/** The project id and the JWT client of the service account, its token endpoint redirected when asked. */
function serviceAccountOf(options: FcmSenderOptions): { projectId: string; auth: JWT } {
  const credentials = JSON.parse(readFileSync(options.credentialsFile, 'utf8')) as {
    client_email: string;
    private_key: string;
    project_id?: string;
  };
  const projectId = options.projectId ?? credentials.project_id;
  if (!projectId) throw new Error('FCM: no project id (MSGXC_FCM_PROJECT_ID or project_id in the credentials)');
  const auth = new JWT({
    email: credentials.client_email,
    key: credentials.private_key,
    scopes: ['https://www.googleapis.com/auth/firebase.messaging'],
  });
  if (options.tokenUrl) {
    const tokenUrl = options.tokenUrl;
    auth.transporter.interceptors.request.add({
      resolved: async (request) => {
        if (String(request.url) === googleTokenUrl) request.url = new URL(tokenUrl);
        return request;
      },
    });
  }
  return { projectId, auth };
}

/** The one HTTP/2 session to FCM, opened again on first use after it closed or failed. */
class FcmSession {
  readonly #endpoint: string;
  readonly #ca: Buffer | undefined;
  #session: ClientHttp2Session | undefined;

  constructor(endpoint: string, ca: Buffer | undefined) {
    this.#endpoint = endpoint;
    this.#ca = ca;
  }

  current(): ClientHttp2Session {
    const session = this.#session;
    if (session && !session.closed && !session.destroyed) return session;
    const opened = connect(this.#endpoint, this.#ca ? { ca: this.#ca } : {});
    opened.on('error', () => opened.destroy());
    opened.on('goaway', () => opened.close());
    this.#session = opened;
    return opened;
  }

  close(): void {
    this.#session?.close();
  }
}

async function sendOne(
  session: FcmSession,
  path: string,
  message: OutgoingMessage,
  authorization: string,
  inFlight: Set<ClientHttp2Stream>,
): Promise<Outcome> {
  const deliveryId = message.recipient.deliveryId;
  const token = message.recipient.device?.token;
  if (!token) return { deliveryId, status: 'rejected', providerCode: 'NO_TOKEN' };
  const body = JSON.stringify({ message: fcmMessageFor(message, token) });
  return new Promise<Outcome>((resolve) => {
    let stream: ClientHttp2Stream;
    try {
      stream = session.current().request({
        ':method': 'POST',
        ':path': path,
        authorization,
        'content-type': 'application/json; charset=UTF-8',
      });
    } catch (error) {
      resolve({ deliveryId, status: 'failed', providerCode: 'CONNECTION_ERROR', detail: (error as Error).message });
      return;
    }
    inFlight.add(stream);
    stream.on('close', () => inFlight.delete(stream));
    let status = 0;
    let retryAfter: string | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      retryAfter = headers['retry-after'] as string | undefined;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(outcomeOf(deliveryId, status, Buffer.concat(chunks).toString('utf8'), retryAfter)));
    stream.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ deliveryId, status: 'failed', providerCode: error.code ?? 'STREAM_ERROR', detail: error.message }),
    );
    stream.end(body);
  });
}

interface FcmErrorBody {
  error?: { status?: string; message?: string; details?: { '@type'?: string; errorCode?: string }[] };
}

/** FCM v1 error codes (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode). */
export function outcomeOf(deliveryId: string, status: number, text: string, retryAfter?: string): Outcome {
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (status === 200) {
    let name: string | undefined;
    try {
      name = (JSON.parse(text) as { name?: string }).name;
    } catch {
      name = undefined;
    }
    return { deliveryId, status: 'sent', providerCode: '200', ...(name ? { providerMessageId: name } : {}) };
  }
  let body: FcmErrorBody = {};
  try {
    body = JSON.parse(text) as FcmErrorBody;
  } catch {
    body = {};
  }
  const code =
    body.error?.details?.find((detail) => detail['@type']?.endsWith('FcmError'))?.errorCode ??
    body.error?.status ??
    String(status);
  const detail = body.error?.message?.slice(0, 200);
  const base = { deliveryId, providerCode: code, ...(detail ? { detail } : {}) };
  if (code === 'UNREGISTERED') return { ...base, status: 'rejected', prune: true };
  if (code === 'QUOTA_EXCEEDED' || status === 429) {
    return { ...base, status: 'throttled', retryAfterMs: Math.max(quotaBackoffMs, retryAfterMs ?? 0) };
  }
  if (code === 'UNAVAILABLE' || code === 'INTERNAL' || status >= 500) {
    return {
      ...base,
      status: 'failed',
      providerCode: status >= 500 ? String(status) : code,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  // 401: the access token; the JWT client fetches a new one on the next call.
  if (status === 401) return { ...base, status: 'failed' };
  return { ...base, status: 'rejected' };
}
