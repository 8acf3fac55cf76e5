import { createHash } from 'node:crypto';
import type {
  Channel,
  DeliveryBatch,
  DeliveryEvent,
  FanoutJob,
  Recipient,
  Variant,
} from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';
import type { OutputRecord } from '../runtime/types.ts';
import { deliveryTopicFor } from '../topics/lanes.ts';

/**
 * Collects recipients into DeliveryBatch records per channel (and per variant when the message is in an
 * experiment), each at most the channel's batch size, and emits one `queued` event per batch.
 *
 * Batch ids are deterministic: message id, channel and a hash of the batch's first delivery id. A job
 * redelivered after a crash pages the same audience in the same uid order and cuts the same batches, so
 * the repeats carry the same batch ids (and the same delivery ids and message id), and downstream stages
 * and clients can drop them. If the audience changed in between, batch boundaries may shift; then the
 * message id and delivery ids still identify the repeats.
 */

export type BatchSizes = Readonly<Record<Channel, number>>;

/** Defaults sized for the providers' batch APIs. */
export const defaultBatchSizes: BatchSizes = {
  // FCM's multicast/batch send takes up to 500 tokens.
  fcm: 500,
  // APNs takes one notification per HTTP/2 request; 100 per batch keeps a batch's requests multiplexed on one connection.
  apns: 100,
  // Web Push is one request per subscription; 100 per batch bounds a batch's fan-out of requests.
  webpush: 100,
  // Twilio/SNS take one number per request; 100 matches the rate limits a batch is worked off at.
  sms: 100,
  // SES SendBulkEmail takes up to 50 destinations.
  email: 50,
  // One gateway batch: every instance scans it for its own connections.
  ws: 500,
};

export interface BatchOrigin {
  /** 0 for fanout; the escalation attempt for batches the ack stage re-sends. */
  attempt: number;
  escalatedFrom: Channel | null;
  source: string;
}

export interface Batcher {
  /** Adds one recipient; returns the records of a batch that became full, else an empty array. */
  add(channel: Channel, recipient: Recipient): OutputRecord[];
  /** Emits the partial batches left. */
  flush(): OutputRecord[];
  /** Recipients put into emitted batches so far. */
  readonly emitted: number;
}

export function createBatcher(job: FanoutJob, sizes: BatchSizes, origin: BatchOrigin, now: () => number): Batcher {
  const open = new Map<string, { channel: Channel; variant: string | null; recipients: Recipient[] }>();
  const variants = new Map((job.experiment?.variants ?? []).map((variant) => [variant.name, variant]));
  let emitted = 0;

  const close = (key: string): OutputRecord[] => {
    const entry = open.get(key);
    if (!entry || entry.recipients.length === 0) return [];
    open.delete(key);
    emitted += entry.recipients.length;
    const variant = entry.variant === null ? undefined : variants.get(entry.variant);
    return batchRecords(job, entry.channel, entry.variant, variant, entry.recipients, origin, now());
  };

  return {
    add(channel, recipient) {
      // Grouping by variant keeps every batch (and its queued event) to one arm of the experiment.
      const key = job.experiment ? `${channel}\0${recipient.variant ?? ''}` : channel;
      let entry = open.get(key);
      if (!entry) {
        entry = { channel, variant: job.experiment ? recipient.variant : null, recipients: [] };
        open.set(key, entry);
      }
      entry.recipients.push(recipient);
      return entry.recipients.length >= Math.max(1, sizes[channel]) ? close(key) : [];
    },
    flush() {
      return [...open.keys()].flatMap(close);
    },
    get emitted() {
      return emitted;
    },
  };
}

export function batchIdOf(messageId: string, channel: Channel, attempt: number, firstDeliveryId: string): string {
  const digest = createHash('sha1').update(firstDeliveryId).digest('base64url').slice(0, 16);
  return attempt === 0 ? `${messageId}:${channel}:${digest}` : `${messageId}:${channel}:a${attempt}:${digest}`;
}

function batchRecords(
  job: FanoutJob,
  channel: Channel,
  variantName: string | null,
  variant: Variant | undefined,
  recipients: Recipient[],
  origin: BatchOrigin,
  at: number,
): OutputRecord[] {
  const first = recipients[0] as Recipient;
  const batchId = batchIdOf(job.messageId, channel, origin.attempt, first.deliveryId);
  const batch: DeliveryBatch = {
    batchId,
    channel,
    messageId: job.messageId,
    tid: job.tid,
    urgency: job.urgency,
    subject: job.subject,
    msg: job.msg,
    opts: job.opts,
    data: job.data,
    collapseKey: job.collapseKey,
    expiresAt: job.expiresAt,
    experimentId: job.experiment?.id ?? null,
    variants: variant ? [variant] : null,
    recipients,
    attempt: origin.attempt,
    escalatedFrom: origin.escalatedFrom,
    sender: job.sender,
    createdAt: job.createdAt,
    batchedAt: at,
    trace: job.trace,
  };
  const event: DeliveryEvent = buildDeliveryEvent({
    eventId: `${batchId}:${origin.escalatedFrom ? 'escalated' : 'queued'}`,
    type: origin.escalatedFrom ? 'escalated' : 'queued',
    at,
    messageId: job.messageId,
    requestId: job.requestId,
    deliveryId: recipients.length === 1 ? first.deliveryId : null,
    uid: recipients.length === 1 ? first.uid : null,
    tid: job.tid,
    channel,
    deviceId: recipients.length === 1 ? (first.device?.id ?? null) : null,
    urgency: job.urgency,
    experimentId: job.experiment?.id ?? null,
    variant: variantName,
    reason: origin.escalatedFrom ? 'NOT_ACKNOWLEDGED' : null,
    // One event per batch, not per recipient: a 100k broadcast is a few hundred events, not 100k.
    // Reports read the count from here (JSON), the recipients from the batch on the deliver topic.
    detail: JSON.stringify({ batchId, recipients: recipients.length }),
    providerMessageId: null,
    attempt: origin.attempt,
    source: origin.source,
    trace: job.trace,
  });
  return [
    { topic: deliveryTopicFor(channel, job.urgency), key: batchId, value: batch },
    { topic: 'events', key: job.messageId, value: event },
  ];
}
