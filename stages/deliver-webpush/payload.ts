import { createHash } from 'node:crypto';
import type { OutgoingMessage } from '../../pipeline/delivery/contract.ts';
import { appData } from '../../pipeline/records/app-data.ts';

/** RFC 8291 with one 4096-byte record: 4096 − 86 (header) − 16 (tag) − 1 (padding delimiter). */
export const maxPlaintextBytes = 3_993;

/** What the service worker receives (decrypted): enough to show the notification and to acknowledge it. */
export function webPushPayload(message: OutgoingMessage): Buffer {
  const { batch, recipient } = message;
  return Buffer.from(
    JSON.stringify({
      messageId: batch.messageId,
      deliveryId: recipient.deliveryId,
      tid: batch.tid,
      title: message.subject,
      body: message.text,
      data: appData(batch.data),
      urgency: batch.urgency,
      sentAt: batch.createdAt,
    }),
  );
}

/** RFC 8030 Urgency from msgxc urgency: 1 very-low, 2 low, 3 normal, 4 high. */
export const urgencyHeader = { 1: 'very-low', 2: 'low', 3: 'normal', 4: 'high' } as const;

/**
 * RFC 8030 Topic (≤ 32 base64url characters) from the thread's collapse key: the key itself when it already
 * fits, else a digest of it, so any collapse key replaces the earlier message with the same key.
 */
export function topicOf(collapseKey: string | null): string | undefined {
  if (!collapseKey) return undefined;
  if (/^[A-Za-z0-9_-]{1,32}$/.test(collapseKey)) return collapseKey;
  return createHash('sha256').update(collapseKey).digest('base64url').slice(0, 32);
}
