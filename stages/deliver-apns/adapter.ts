import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import apn from '@parse/node-apn';
import type { Outcome, OutgoingMessage, ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { parseRetryAfter } from '../../pipeline/delivery/retry-after.ts';
import { type ApnsRequest, apnsIdOf, apnsRequestFor } from './notification.ts';

export interface ApnsAdapterOptions {
  keyFile: string;
  keyId: string;
  teamId: string;
  topic: string;
  production: boolean;
  /** Another server (the sandbox's): host and port, with the CA file that signs it. */
  address?: { host: string; port: number } | null;
  caFile?: string | null;
  requestTimeoutMs: number;
  /** Recipients per `send` (the policy's slice); streams open at once never exceed the session's limit. */
  maxBatch?: number;
}

interface ApnClient {
  session?: ClientHttp2Session;
  request(session: ClientHttp2Session, ...rest: unknown[]): Promise<unknown>;
  write(notification: ApnsRequest, device: string, type: 'device', method: 'post'): Promise<Record<string, unknown>>;
}

interface WriteFailure {
  status?: number;
  response?: { reason?: string; timestamp?: number | string };
  error?: Error;
  'apns-id'?: string;
}

/**
 * APNs through `@parse/node-apn` with token auth, working around two of its defects rather than inheriting
 * them: its retries are off (`connectionRetryLimit: 0`; they read `Retry-After` in the wrong case, so they
 * retry at once) and the shared policy retries instead, with the real `retry-after` captured from each
 * response; and a batch is written in slices of the session's advertised max concurrent streams instead of
 * opening a stream per token at once (which fails on one session for 20k tokens).
 */
export function createApnsAdapter(options: ApnsAdapterOptions): ProviderAdapter {
  const provider = new apn.Provider({
    token: { key: options.keyFile, keyId: options.keyId, teamId: options.teamId },
    production: options.production,
    ...(options.address ? { address: options.address.host, port: options.address.port } : {}),
    ...(options.caFile ? { ca: [options.caFile] } : {}),
    connectionRetryLimit: 0,
    requestTimeout: options.requestTimeoutMs,
  } as apn.ProviderOptions);
  const client = (provider as unknown as { client: ApnClient }).client;
  const retryAfterById = captureRetryAfter(client);
  const sendOne = (message: OutgoingMessage, request: ApnsRequest) =>
    writeOne(client, retryAfterById, message, request);

  return {
    provider: 'apns',
    channel: 'apns',
    maxBatch: options.maxBatch ?? 1_000,
    async send(messages) {
      const requestOf = requestCache(options.topic);
      const outcomes: Outcome[] = [];
      // The first slice is one stream: it opens the session, whose SETTINGS then say how many may run at once.
      let start = 0;
      let size = client.session && !client.session.destroyed ? streamsAtOnce(client) : 1;
      while (start < messages.length) {
        const slice = messages.slice(start, start + size);
        outcomes.push(...(await Promise.all(slice.map((message) => sendOne(message, requestOf(message))))));
        start += slice.length;
        size = streamsAtOnce(client);
      }
      return outcomes;
    },
    async close() {
      await provider.shutdown();
    },
  };
}

/** Every stream of the client's sessions reports its `retry-after` into the map, by apns-id (the library drops it). */
function captureRetryAfter(client: ApnClient): Map<string, string> {
  const retryAfterById = new Map<string, string>();
  const patched = new WeakSet<ClientHttp2Session>();
  const originalRequest = client.request.bind(client);
  client.request = (session, ...rest) => {
    if (!patched.has(session)) {
      patched.add(session);
      const open = session.request.bind(session);
      session.request = ((headers: OutgoingHttpHeaders, ...more: unknown[]) => {
        const stream: ClientHttp2Stream = (open as (...args: unknown[]) => ClientHttp2Stream)(headers, ...more);
        stream.once('response', (response) => {
          const value = response['retry-after'];
          if (value !== undefined) retryAfterById.set(String(headers['apns-id']), String(value));
        });
        return stream;
      }) as typeof session.request;
    }
    return originalRequest(session, ...rest);
  };
  return retryAfterById;
}

function streamsAtOnce(client: ApnClient): number {
  const advertised = client.session?.remoteSettings?.maxConcurrentStreams;
  return Math.max(1, Math.min(advertised && advertised < 2 ** 31 - 1 ? advertised : 100, 1_000));
}

/** Requests compiled once per batch and content (experiment variants differ), not once per token. */
function requestCache(topic: string): (message: OutgoingMessage) => ApnsRequest {
  const requests = new Map<OutgoingMessage['batch'], Map<string, ApnsRequest>>();
  return (message) => {
    const byContent = requests.get(message.batch) ?? new Map<string, ApnsRequest>();
    requests.set(message.batch, byContent);
    const key = `${message.subject}\u0000${message.text}`;
    let request = byContent.get(key);
    if (!request) {
      request = apnsRequestFor(message, topic);
      byContent.set(key, request);
    }
    return request;
  };
}

async function writeOne(
  client: ApnClient,
  retryAfterById: Map<string, string>,
  message: OutgoingMessage,
  request: ApnsRequest,
): Promise<Outcome> {
  const deliveryId = message.recipient.deliveryId;
  const token = message.recipient.device?.token;
  if (!token) return { deliveryId, status: 'rejected', providerCode: 'NO_TOKEN' };
  const apnsId = apnsIdOf(deliveryId);
  try {
    await client.write(
      { headers: { ...request.headers, 'apns-id': apnsId }, body: request.body },
      token,
      'device',
      'post',
    );
    return { deliveryId, status: 'sent', providerCode: '200', providerMessageId: apnsId };
  } catch (failure) {
    const retryAfter = retryAfterById.get(apnsId);
    retryAfterById.delete(apnsId);
    return outcomeOf(deliveryId, failure as WriteFailure, parseRetryAfter(retryAfter));
  }
}

/** APNs answers (developer.apple.com "Handling notification responses from APNs"). */
export function outcomeOf(deliveryId: string, failure: WriteFailure, retryAfterMs: number | undefined): Outcome {
  const reason = failure.response?.reason;
  const status = failure.status;
  const base = { deliveryId, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === undefined) {
    const message = failure.error?.message ?? 'no answer';
    return {
      ...base,
      status: 'failed',
      providerCode: /timeout/i.test(message) ? 'TIMEOUT' : 'CONNECTION_ERROR',
      detail: message,
    };
  }
  const providerCode = reason ? `${status} ${reason}` : String(status);
  if (status === 410) {
    const timestamp = Number(failure.response?.timestamp);
    return {
      ...base,
      status: 'rejected',
      providerCode,
      prune: true,
      ...(Number.isFinite(timestamp) ? { invalidSince: timestamp } : {}),
    };
  }
  if (status === 400 && (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic')) {
    return { ...base, status: 'rejected', providerCode, prune: true };
  }
  if (status === 429) return { ...base, status: 'throttled', providerCode };
  if (status >= 500)
    return { ...base, status: 'failed', providerCode: String(status), detail: reason ?? 'server error' };
  // 403: the provider token (the library makes a new one on ExpiredProviderToken); worth another try.
  if (status === 403) return { ...base, status: 'failed', providerCode, detail: 'provider token refused' };
  return { ...base, status: 'rejected', providerCode };
}
