import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The addresses providers and mail clients call back on, shared by the delivery stages that hand them out
 * and the facade routes that answer them (a stage never imports the facade, so both read them from here).
 */

export const feedbackPaths = {
  twilioStatus: '/api/v1/providers/twilio/status',
  sesNotifications: '/api/v1/providers/ses/notifications',
  // Not /api/v1/unsubscribe: that is the seed API's thread unsubscribe (JWT, JSON body).
  unsubscribe: '/api/v1/list-unsubscribe',
} as const;

/** Whom a provider callback is about; carried in the callback URL, which the provider's signature covers. */
export interface CallbackSubject {
  deliveryId: string;
  messageId: string;
  uid: string;
  deviceId: string;
}

const callbackParameters = { deliveryId: 'd', messageId: 'm', uid: 'u', deviceId: 'v' } as const;

export function statusCallbackUrl(publicUrl: string, subject: CallbackSubject): string {
  const query = new URLSearchParams();
  for (const [field, parameter] of Object.entries(callbackParameters)) {
    query.set(parameter, subject[field as keyof CallbackSubject]);
  }
  return `${publicUrl}${feedbackPaths.twilioStatus}?${query}`;
}

/** The subject of a callback URL's query, or null when a parameter is missing. */
export function callbackSubject(query: URLSearchParams): CallbackSubject | null {
  const subject: Partial<CallbackSubject> = {};
  for (const [field, parameter] of Object.entries(callbackParameters)) {
    const value = query.get(parameter);
    if (!value) return null;
    subject[field as keyof CallbackSubject] = value;
  }
  return subject as CallbackSubject;
}

/**
 * One-click unsubscribe (RFC 8058): the link names the user and the thread (none: every message) and
 * carries an HMAC over both, so it works without a login and cannot be forged for someone else.
 */
export interface UnsubscribeTarget {
  uid: string;
  tid: string | null;
}

function signature(secret: string, target: UnsubscribeTarget): Buffer {
  return createHmac('sha256', secret)
    .update(`msgxc-unsubscribe\n${target.uid}\n${target.tid ?? ''}`)
    .digest();
}

export function unsubscribeUrl(publicUrl: string, secret: string, target: UnsubscribeTarget): string {
  const query = new URLSearchParams({ u: target.uid });
  if (target.tid !== null) query.set('t', target.tid);
  query.set('s', signature(secret, target).toString('base64url'));
  return `${publicUrl}${feedbackPaths.unsubscribe}?${query}`;
}

/** The target of a link whose signature is right, else null. */
export function verifyUnsubscribe(secret: string, query: URLSearchParams): UnsubscribeTarget | null {
  const uid = query.get('u');
  const given = query.get('s');
  if (!uid || !given) return null;
  const target: UnsubscribeTarget = { uid, tid: query.get('t') || null };
  const expected = signature(secret, target);
  const actual = Buffer.from(given, 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected) ? target : null;
}
