import type { DeliveryBatch } from '../../schemas/types.generated.ts';

/** The message's urgency, 1-4, clamped (a malformed value counts as normal). */
export function urgencyOf(batch: Pick<DeliveryBatch, 'urgency'>): 1 | 2 | 3 | 4 {
  const value = Math.round(batch.urgency);
  if (value >= 1 && value <= 4) return value as 1 | 2 | 3 | 4;
  return 3;
}

/**
 * Seconds the provider should keep the message for an offline device: until `expiresAt`, or `fallback`
 * (28 days, the longest FCM and Web Push services keep) when it never expires; 0 when already due.
 */
export function ttlSecondsOf(batch: Pick<DeliveryBatch, 'expiresAt'>, now = Date.now(), fallback = 2_419_200): number {
  if (batch.expiresAt === null) return fallback;
  return Math.max(0, Math.floor((batch.expiresAt - now) / 1000));
}
