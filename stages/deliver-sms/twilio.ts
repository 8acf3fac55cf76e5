import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:http';
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioResponseModule from 'twilio/lib/http/response.js';
import type { TwilioSettings } from '../../pipeline/config/messaging.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { statusCallbackUrl } from '../../pipeline/feedback/index.ts';
import { smsOf, validitySeconds } from './text.ts';

/**
 * SMS through Twilio's Messages API with the `twilio` SDK. The SDK's own retries stay off (the shared
 * policy retries). Twilio's RestException carries no headers, so the HTTP client keeps a 429's Retry-After
 * in the calling send's async context.
 */

/** Twilio says the recipient replied STOP: sending again is refused until they reply START. */
export const TWILIO_UNSUBSCRIBED = 21610;
export const TWILIO_TOO_MANY_REQUESTS = 20429;
/** Numbers Twilio will never reach: invalid, not mobile, not SMS-capable, landline. */
const unreachableNumber = new Set([21211, 21214, 21217, 21612, 21614, 21635]);
const defaultThrottleMs = 1000;

type TwilioResponse<T> = TwilioResponseModule.default<T>;

const responseHeaders = new AsyncLocalStorage<{ retryAfter?: string }>();

/** The SDK's HTTP client, sending to `apiUrl` instead of api.twilio.com (local servers, sandbox, proxies). */
export class RoutedRequestClient extends twilio.RequestClient {
  readonly #apiUrl: string;
  constructor(apiUrl: string) {
    super({ keepAlive: true, timeout: 15_000 });
    this.#apiUrl = apiUrl;
    // Plain-HTTP origins (the local servers) get a keep-alive agent too.
    this.axios.defaults.httpAgent = this.#plainAgent;
  }
  readonly #plainAgent = new Agent({ keepAlive: true });
  /** Closes the idle keep-alive sockets of both agents. */
  destroy(): void {
    this.#plainAgent.destroy();
    (this.axios.defaults.httpsAgent as { destroy?: () => void } | undefined)?.destroy?.();
  }
  override async request<TData>(options: TwilioRequestClient.RequestOptions<TData>): Promise<TwilioResponse<TData>> {
    const uri = new URL(options.uri);
    const routed = new URL(`${uri.pathname}${uri.search}`, this.#apiUrl).href;
    const response = await super.request({ ...options, uri: routed });
    const slot = responseHeaders.getStore();
    const retryAfter = response.headers?.['retry-after'];
    if (slot && response.statusCode === 429 && retryAfter !== undefined) slot.retryAfter = String(retryAfter);
    return response;
  }
}

export function createTwilioAdapter(settings: TwilioSettings, publicUrl: string): ProviderAdapter {
  const httpClient = new RoutedRequestClient(settings.apiUrl);
  const client = twilio(settings.accountSid, settings.authToken.reveal(), {
    httpClient,
    autoRetry: false,
    lazyLoading: true,
  });
  const sender = settings.messagingServiceSid
    ? { messagingServiceSid: settings.messagingServiceSid }
    : { from: settings.from ?? '' };

  async function sendOne(message: OutgoingMessage): Promise<Outcome> {
    const { recipient, batch } = message;
    const deliveryId = recipient.deliveryId;
    const sms = smsOf(message);
    if ('rejected' in sms) return sms.rejected;
    const { to, body, segments } = sms;
    const slot: { retryAfter?: string } = {};
    try {
      const created = await responseHeaders.run(slot, () =>
        client.messages.create({
          ...sender,
          to,
          body,
          statusCallback: statusCallbackUrl(publicUrl, {
            deliveryId,
            messageId: batch.messageId,
            uid: recipient.uid,
            deviceId: recipient.device?.id ?? '',
          }),
          ...validitySeconds(batch.expiresAt),
        }),
      );
      return { deliveryId, status: 'sent', providerMessageId: created.sid, providerCode: '201', segments };
    } catch (error) {
      return { ...twilioFailure(error, slot.retryAfter), deliveryId, segments };
    }
  }

  return {
    provider: 'twilio',
    channel: 'sms',
    maxBatch: 50,
    send: (messages) => Promise.all(messages.map(sendOne)),
    async close() {
      httpClient.destroy();
    },
  };
}

/** A Twilio error as an outcome (without its delivery id). */
export function twilioFailure(error: unknown, retryAfter?: string): Omit<Outcome, 'deliveryId'> {
  const { status, code: rawCode, message } = error as { status?: number; code?: number | string; message?: string };
  // Twilio's codes are numbers; a string code is the HTTP client's (ECONNREFUSED, ECONNABORTED on timeout).
  const code = typeof rawCode === 'number' ? rawCode : undefined;
  const providerCode =
    status !== undefined && (status >= 500 || code === undefined)
      ? String(status)
      : code !== undefined
        ? String(code)
        : typeof rawCode === 'string'
          ? rawCode
          : 'NETWORK';
  const detail = message?.slice(0, 300);
  if (code === TWILIO_TOO_MANY_REQUESTS || status === 429) {
    return { status: 'throttled', providerCode, retryAfterMs: retryAfterMs(retryAfter) ?? defaultThrottleMs, detail };
  }
  // The number's owner opted out: the device goes (pruned, remembered in dead_devices) until they enlist it again.
  if (code === TWILIO_UNSUBSCRIBED) return { status: 'rejected', providerCode, suppress: true, prune: true, detail };
  if (code !== undefined && unreachableNumber.has(code))
    return { status: 'rejected', providerCode, prune: true, detail };
  // Other 4xx refuse this message for good; 401/403 are the account's problem and 5xx or no answer transient.
  if (status !== undefined && status >= 400 && status < 500 && status !== 401 && status !== 403) {
    return { status: 'rejected', providerCode, detail };
  }
  return { status: 'failed', providerCode, detail };
}

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
