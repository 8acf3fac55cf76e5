import type { Outcome, OutgoingMessage } from '../../pipeline/delivery/contract.ts';
import { countSegments } from './segments.ts';

/** What an SMS says: the subject (if any) on its own line, then the text; null when there is nothing to say. */
export function smsText(message: Pick<OutgoingMessage, 'subject' | 'text'>): string | null {
  const parts = [message.subject, message.text].filter((part): part is string => !!part && part.trim() !== '');
  return parts.length === 0 ? null : parts.join('\n');
}

/** Twilio's ValidityPeriod (1 s–10 h) from the message's expiry; nothing when it has none. */
export function validitySeconds(expiresAt: number | null, now = Date.now()): { validityPeriod?: number } {
  if (expiresAt === null) return {};
  const seconds = Math.ceil((expiresAt - now) / 1000);
  return { validityPeriod: Math.min(36_000, Math.max(1, seconds)) };
}

/**
 * What every SMS provider needs from a message — the number, the text and its billed segments — or the
 * rejection when the device has no number or the message nothing to say.
 */
export function smsOf(
  message: OutgoingMessage,
): { to: string; body: string; segments: number } | { rejected: Outcome } {
  const deliveryId = message.recipient.deliveryId;
  const to = message.recipient.device?.address;
  const body = smsText(message);
  if (!to)
    return {
      rejected: { deliveryId, status: 'rejected', providerCode: 'NO_ADDRESS', detail: 'the device has no number' },
    };
  if (body === null)
    return { rejected: { deliveryId, status: 'rejected', providerCode: 'NO_TEXT', detail: 'nothing to text' } };
  return { to, body, segments: countSegments(body).segments };
}
