import { randomUUID } from 'node:crypto';
import { deliveryIdOf } from '../../pipeline/records/delivery.ts';
import type { DeliveryBatch } from '../../schemas/types.generated.ts';

/** A ws DeliveryBatch for the given users, as fanout would emit it; for tests and benches that feed the gateway. */
export function wsBatch(
  recipients: { uid: string; variant?: string | null }[],
  overrides: Partial<DeliveryBatch> = {},
) {
  const messageId = overrides.messageId ?? randomUUID();
  const batch: DeliveryBatch = {
    batchId: `${messageId}:ws:0`,
    channel: 'ws',
    messageId,
    tid: null,
    urgency: 3,
    subject: 'subject',
    msg: 'hello',
    opts: null,
    data: '{"k":1}',
    collapseKey: null,
    expiresAt: null,
    experimentId: null,
    variants: null,
    recipients: recipients.map((recipient) => ({
      deliveryId: deliveryIdOf(messageId, recipient.uid, null),
      uid: recipient.uid,
      device: null,
      variant: recipient.variant ?? null,
      locale: null,
    })),
    attempt: 0,
    escalatedFrom: null,
    sender: { kind: 'service', id: 'test' },
    createdAt: Date.now(),
    batchedAt: Date.now(),
    trace: null,
    ...overrides,
  };
  return batch;
}
