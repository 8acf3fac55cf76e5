import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { LookupFunction } from 'node:net';
import webpush from 'web-push';
import { mapLimit } from '../../pipeline/concurrency/index.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { parseRetryAfter } from '../../pipeline/delivery/retry-after.ts';
import { ttlSecondsOf, urgencyOf } from '../../pipeline/delivery/urgency.ts';
import type { EndpointGuard } from '../../pipeline/net/ssrf.ts';
import { maxPlaintextBytes, topicOf, urgencyHeader, webPushPayload } from './payload.ts';
import type { VapidCache } from './vapid.ts';

export interface WebPushAdapterOptions {
  vapid: VapidCache;
  guard: EndpointGuard;
  /** Requests in flight at once. */
  concurrency: number;
  /** Extra CA (the sandbox's local push service); the system's CAs otherwise. */
  caFile?: string | null;
}

/**
 * Web Push through `web-push`: `generateRequestDetails` encrypts (aes128gcm, RFC 8291) and sets TTL, Urgency
 * and Topic; the VAPID Authorization comes from the per-origin cache (the library's per-message signing is
 * switched off with `vapidDetails: null`). The request then goes to the address the SSRF guard checked at
 * send time (a pinned `lookup`), never to a second DNS answer.
 */
const pinTtlMs = 30_000;

export function createWebPushAdapter(options: WebPushAdapterOptions): ProviderAdapter {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.concurrency,
    ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
  });
  // A checked address is reused for a few seconds per host: one DNS answer, checked once, for a burst of sends
  // to the same push service (getaddrinfo per message would queue on libuv's four threads).
  const pins = new Map<string, { pinned: Promise<{ address: string; family: 4 | 6 }>; at: number }>();
  const pinOf = (endpoint: string) => {
    const url = new URL(endpoint);
    // Everything the check looks at besides the path: an endpoint with credentials or http never shares a pin.
    const host = `${url.protocol}|${url.username}|${url.password}|${url.host}`;
    const cached = pins.get(host);
    if (cached && Date.now() - cached.at < pinTtlMs) return cached.pinned;
    const pinned = options.guard.pin(endpoint);
    pins.set(host, { pinned, at: Date.now() });
    pinned.catch(() => pins.delete(host));
    return pinned;
  };
  const sendOne = async (message: OutgoingMessage, signal: AbortSignal): Promise<Outcome> => {
    const deliveryId = message.recipient.deliveryId;
    const subscription = message.recipient.device?.subscription;
    if (!subscription) return { deliveryId, status: 'rejected', providerCode: 'NO_SUBSCRIPTION' };
    const plaintext = webPushPayload(message);
    if (plaintext.length > maxPlaintextBytes) {
      return {
        deliveryId,
        status: 'rejected',
        providerCode: 'PAYLOAD_TOO_LARGE',
        detail: `payload is ${plaintext.length} bytes; Web Push carries at most ${maxPlaintextBytes}`,
      };
    }
    let pinned: { address: string; family: 4 | 6 };
    try {
      pinned = await pinOf(subscription.endpoint);
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      return {
        deliveryId,
        status: retriable ? 'failed' : 'rejected',
        providerCode: retriable ? 'DNS_UNAVAILABLE' : 'UNSAFE_ENDPOINT',
        detail: (error as Error).message,
        prune: !retriable,
      };
    }
    const topic = topicOf(message.batch.collapseKey);
    const details = webpush.generateRequestDetails(
      { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
      plaintext,
      {
        // null (the library's own check is `!== undefined`) turns its per-message signing off.
        vapidDetails: null as unknown as undefined,
        contentEncoding: 'aes128gcm',
        TTL: ttlSecondsOf(message.batch),
        urgency: urgencyHeader[urgencyOf(message.batch)],
        ...(topic ? { topic } : {}),
        headers: { Authorization: options.vapid.authorizationFor(subscription.endpoint) },
      },
    );
    return post(details, pinned, agent, signal, deliveryId);
  };
  return {
    provider: 'webpush',
    channel: 'webpush',
    maxBatch: options.concurrency * 4,
    async send(messages, signal) {
      return mapLimit(messages, options.concurrency, (message) => sendOne(message, signal));
    },
    async close() {
      agent.destroy();
    },
  };
}

function post(
  details: webpush.RequestDetails,
  pinned: { address: string; family: 4 | 6 },
  agent: Agent,
  signal: AbortSignal,
  deliveryId: string,
): Promise<Outcome> {
  const url = new URL(details.endpoint);
  // Whatever the resolver says now, the socket goes to the address that passed the check.
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    } else callback(null, pinned.address, pinned.family);
  };
  return new Promise((resolve) => {
    const call = request(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: url.hostname,
        port: url.port || 443,
        path: `${url.pathname}${url.search}`,
        headers: details.headers as Record<string, string | number>,
        agent,
        lookup,
        signal,
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const retryAfter = parseRetryAfter(response.headers['retry-after'] as string | undefined);
          resolve(outcomeOf(deliveryId, status, retryAfter, response.headers.location));
        });
      },
    );
    call.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ deliveryId, status: 'failed', providerCode: error.code ?? 'NETWORK_ERROR', detail: error.message }),
    );
    call.end(details.body ?? undefined);
  });
}

/** RFC 8030 / push services' answers: 201 accepted; 404/410 gone for good; 413 too large; 429 slow down; 5xx transient. */
export function outcomeOf(
  deliveryId: string,
  status: number,
  retryAfterMs: number | undefined,
  location?: string,
): Outcome {
  const providerCode = String(status);
  const base = { deliveryId, providerCode, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status >= 200 && status < 300)
    return { ...base, status: 'sent', ...(location ? { providerMessageId: location } : {}) };
  if (status === 404 || status === 410)
    return { ...base, status: 'rejected', prune: true, detail: 'subscription gone' };
  if (status === 429) return { ...base, status: 'throttled' };
  if (status >= 500) return { ...base, status: 'failed' };
  return { ...base, status: 'rejected', detail: status === 413 ? 'payload too large' : 'refused by the push service' };
}
