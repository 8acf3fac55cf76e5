import { createHash } from 'node:crypto';
import type { OutgoingMessage } from '../../pipeline/delivery/contract.ts';
import { urgencyOf } from '../../pipeline/delivery/urgency.ts';

/** The request an APNs notification is: headers (without apns-id, set per delivery) and the JSON body. */
export interface ApnsRequest {
  headers: Record<string, string | number>;
  body: string;
}

/**
 * `apns-id` must be a UUID; the delivery id is `message:uid:device`. The UUID is derived from it (the same
 * on every retry, so APNs' and msgxc's logs name one delivery alike).
 */
export function apnsIdOf(deliveryId: string): string {
  const hex = createHash('sha256').update(deliveryId).digest('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** apns-collapse-id holds at most 64 bytes: a longer key becomes its SHA-256 in hex (64 characters). */
export function collapseIdOf(collapseKey: string | null): string | undefined {
  if (!collapseKey) return undefined;
  if (Buffer.byteLength(collapseKey) <= 64) return collapseKey;
  return createHash('sha256').update(collapseKey).digest('hex');
}

/**
 * Headers and body for a message, the same for every recipient with the same content: priority 10 for
 * urgency 3–4 and 5 for 1–2 (a background push is always 5), push type alert (background when the message
 * has no text), expiration from the message's expiry (seconds), the collapse id from the thread's key.
 */
export function apnsRequestFor(message: OutgoingMessage, topic: string): ApnsRequest {
  const { batch } = message;
  const background = message.text === null && message.subject === null;
  const headers: Record<string, string | number> = {
    'apns-topic': topic,
    'apns-push-type': background ? 'background' : 'alert',
    'apns-priority': background || urgencyOf(batch) <= 2 ? 5 : 10,
  };
  if (batch.expiresAt !== null) headers['apns-expiration'] = Math.max(1, Math.floor(batch.expiresAt / 1000));
  const collapseId = collapseIdOf(batch.collapseKey);
  if (collapseId) headers['apns-collapse-id'] = collapseId;
  const aps: Record<string, unknown> = background
    ? { 'content-available': 1 }
    : {
        alert: {
          ...(message.subject === null ? {} : { title: message.subject }),
          ...(message.text === null ? {} : { body: message.text }),
        },
        ...(urgencyOf(batch) >= 3 ? { sound: 'default' } : {}),
        'interruption-level': urgencyOf(batch) === 4 ? 'time-sensitive' : urgencyOf(batch) <= 2 ? 'passive' : 'active',
      };
  if (batch.tid !== null) aps['thread-id'] = batch.tid;
  const body = JSON.stringify({
    aps,
    messageId: batch.messageId,
    ...(batch.data === null ? {} : { data: batch.data }),
  });
  return { headers, body };
}
