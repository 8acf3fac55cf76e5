import {
  buildDeliveryEvent,
  type DeliveryBatch,
  type DeliveryEventType,
  type Recipient,
} from '../../schemas/types.generated.ts';
import type { OutputRecord } from '../runtime/types.ts';
import type { AttemptOutcome } from './provider-policy.ts';

/** Outcome events on `events`: one per attempt and recipient, keyed by message id like every event. */
export interface EventFacts {
  type: DeliveryEventType;
  provider: string | null;
  reason: string | null;
  detail?: string | null;
  providerCode?: string | null;
  providerMessageId?: string | null;
  latencyMs?: number | null;
  segments?: number | null;
  attempt: number;
  /** Distinguishes several outcomes of one attempt (a throttle then a send), so event ids stay unique. */
  step?: number;
}

export function deliveryEvent(
  stage: string,
  batch: DeliveryBatch,
  recipient: Recipient,
  facts: EventFacts,
  at = Date.now(),
): OutputRecord {
  const provider = facts.provider ?? 'none';
  return {
    topic: 'events',
    key: batch.messageId,
    value: buildDeliveryEvent({
      eventId: `${recipient.deliveryId}:${facts.type}:${provider}:${facts.attempt}:${facts.step ?? 0}`,
      type: facts.type,
      at,
      messageId: batch.messageId,
      requestId: null,
      deliveryId: recipient.deliveryId,
      uid: recipient.uid,
      tid: batch.tid,
      channel: batch.channel,
      deviceId: recipient.device?.id ?? null,
      urgency: batch.urgency,
      experimentId: batch.experimentId,
      variant: recipient.variant,
      reason: facts.reason,
      detail: facts.detail ?? null,
      providerMessageId: facts.providerMessageId ?? null,
      attempt: facts.attempt,
      source: stage,
      trace: batch.trace,
      provider: facts.provider,
      providerCode: facts.providerCode ?? null,
      latencyMs: facts.latencyMs ?? null,
      segments: facts.segments ?? null,
    }),
  };
}

const reasonByStatus: Record<AttemptOutcome['status'], string | null> = {
  sent: null,
  rejected: 'PROVIDER_REJECTED',
  throttled: 'PROVIDER_THROTTLED',
  failed: 'PROVIDER_FAILED',
};

export function outcomeEvent(
  stage: string,
  batch: DeliveryBatch,
  recipient: Recipient,
  outcome: AttemptOutcome,
  attempt: number,
  step: number,
): OutputRecord {
  return deliveryEvent(stage, batch, recipient, {
    type: outcome.status,
    provider: outcome.provider,
    reason: outcome.prune ? 'TOKEN_INVALID' : reasonByStatus[outcome.status],
    detail: outcome.detail ?? null,
    providerCode: outcome.providerCode ?? null,
    providerMessageId: outcome.providerMessageId ?? null,
    latencyMs: outcome.latencyMs,
    segments: outcome.segments ?? null,
    attempt,
    step,
  });
}
