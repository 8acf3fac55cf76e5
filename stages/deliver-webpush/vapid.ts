import webpush from 'web-push';

/**
 * VAPID (RFC 8292) Authorization headers cached per push-service origin: the library would sign a JWT per
 * message (an ECDSA signature each, most of Web Push's CPU); one JWT per origin serves every message to it.
 * A JWT is valid 12 h (push services refuse more than 24 h) and re-signed after an hour, so a key rotation
 * or a clock step reaches every origin within the hour.
 */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
}

export const vapidLifetimeSeconds = 12 * 3_600;
export const vapidRefreshMs = 3_600_000;

export class VapidCache {
  readonly #keys: VapidKeys;
  readonly #byOrigin = new Map<string, { authorization: string; signedAt: number }>();
  readonly #clock: () => number;
  signatures = 0;

  constructor(keys: VapidKeys, clock: () => number = Date.now) {
    this.#keys = keys;
    this.#clock = clock;
  }

  /** The `Authorization: vapid t=…, k=…` value for an endpoint's origin. */
  authorizationFor(endpoint: string): string {
    const origin = new URL(endpoint).origin;
    const now = this.#clock();
    const cached = this.#byOrigin.get(origin);
    if (cached && now - cached.signedAt < vapidRefreshMs) return cached.authorization;
    const expiration = Math.floor(now / 1000) + vapidLifetimeSeconds;
    const headers = webpush.getVapidHeaders(
      origin,
      this.#keys.subject,
      this.#keys.publicKey,
      this.#keys.privateKey,
      'aes128gcm',
      expiration,
    );
    this.signatures += 1;
    const authorization = String(headers.Authorization);
    this.#byOrigin.set(origin, { authorization, signedAt: now });
    return authorization;
  }
}
