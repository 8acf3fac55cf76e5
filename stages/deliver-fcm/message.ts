import type { OutgoingMessage } from '../../pipeline/delivery/contract.ts';
import { ttlSecondsOf, urgencyOf } from '../../pipeline/delivery/urgency.ts';

/**
 * The FCM HTTP v1 `message` for one registration token: android priority HIGH for urgency 3–4 and NORMAL for
 * 1–2, `ttl` from the expiry, `collapse_key` from the thread's key; msgxc ids in `data` (FCM data values are
 * strings) so the app can acknowledge and drop repeats.
 */
export function fcmMessageFor(message: OutgoingMessage, token: string, now = Date.now()): Record<string, unknown> {
  const { batch } = message;
  const notification =
    message.subject === null && message.text === null
      ? undefined
      : {
          ...(message.subject === null ? {} : { title: message.subject }),
          ...(message.text === null ? {} : { body: message.text }),
        };
  return {
    token,
    ...(notification ? { notification } : {}),
    data: {
      messageId: batch.messageId,
      deliveryId: message.recipient.deliveryId,
      ...(batch.tid === null ? {} : { tid: batch.tid }),
      ...(batch.data === null ? {} : { data: batch.data }),
    },
    android: {
      priority: urgencyOf(batch) >= 3 ? 'HIGH' : 'NORMAL',
      ttl: `${ttlSecondsOf(batch, now)}s`,
      ...(batch.collapseKey === null ? {} : { collapse_key: batch.collapseKey }),
    },
  };
}
