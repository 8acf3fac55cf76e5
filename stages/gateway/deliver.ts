import { appData } from '../../pipeline/records/app-data.ts';
import type { DeliveryBatch, DeliveryEvent } from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';
import type { GatewayMetrics } from './metrics.ts';
import { encodeFrame, type MessageFrame } from './protocol.ts';
import type { ConnectionRegistry } from './registry.ts';

/**
 * Writes a delivery batch to this process's sockets. Every gateway instance sees every batch; each
 * writes to the connections it holds and records `sent` only for those, so the events of all instances
 * together cover each connected recipient once (event ids are deterministic, so an instance that
 * re-reads a batch repeats ids rather than inventing new events).
 */

export interface DeliverDependencies {
  registry: ConnectionRegistry;
  metrics: GatewayMetrics;
  now: () => number;
}

export interface DeliverResult {
  /** `sent` (or `expired`) events for the recipients connected here. */
  events: DeliveryEvent[];
  /** Copies written to sockets for the batch's recipients. */
  recipientCopies: number;
  /** Copies written to live thread subscribers that the batch did not address. */
  threadCopies: number;
}

export function createDeliverer(dependencies: DeliverDependencies): (batch: DeliveryBatch) => DeliverResult {
  const { registry, metrics, now } = dependencies;

  return function deliver(batch) {
    const at = now();
    const result: DeliverResult = { events: [], recipientCopies: 0, threadCopies: 0 };
    if (batch.channel !== 'ws') return result;

    if (batch.expiresAt !== null && at > batch.expiresAt) {
      for (const recipient of batch.recipients) {
        if (registry.byUid(recipient.uid)) result.events.push(event(batch, recipient, 'expired', at, 'EXPIRED'));
      }
      return result;
    }

    const frameFor = messageFrames(batch);
    const addressed = { tid: batch.tid, addressed: true };
    for (const recipient of batch.recipients) {
      const connections = registry.byUid(recipient.uid);
      if (!connections) continue;
      let reached = 0;
      for (const connection of connections) {
        // A copy already written (a live thread copy, a batch read twice, a uid listed twice) is not written again.
        if (connection.hasSent(batch.messageId)) {
          reached++;
          continue;
        }
        if (!connection.deliverMessage(batch.messageId, frameFor(recipient.variant), addressed)) continue;
        reached++;
        result.recipientCopies++;
      }
      if (reached > 0) result.events.push(event(batch, recipient, 'sent', at, null));
    }

    const subscribers = batch.tid === null ? undefined : registry.byThread(batch.tid);
    if (subscribers) {
      const live = { tid: batch.tid, addressed: false };
      for (const connection of subscribers) {
        if (connection.hasSent(batch.messageId)) continue;
        if (!connection.deliverMessage(batch.messageId, frameFor(null), live)) continue;
        result.threadCopies++;
      }
    }

    if (result.recipientCopies > 0) metrics.deliveries.inc({ path: 'recipient' }, result.recipientCopies);
    if (result.threadCopies > 0) metrics.deliveries.inc({ path: 'thread' }, result.threadCopies);
    const copies = result.recipientCopies + result.threadCopies;
    if (copies > 0) metrics.framesOut.inc({ type: 'message' }, copies);
    return result;
  };
}

/** One serialised frame per variant (at most a handful per batch), shared by every socket it goes to. */
function messageFrames(batch: DeliveryBatch): (variant: string | null) => Buffer {
  const frames = new Map<string | null, Buffer>();
  return (variant) => {
    let frame = frames.get(variant);
    if (frame) return frame;
    const content = variant === null ? undefined : batch.variants?.find((candidate) => candidate.name === variant);
    frame = encodeFrame(
      messageFrame({
        id: batch.messageId,
        tid: batch.tid,
        msg: content?.msg ?? batch.msg,
        subject: content?.subject ?? batch.subject,
        data: batch.data,
        urgency: batch.urgency,
        sentAt: batch.createdAt,
        variant,
      }),
    );
    frames.set(variant, frame);
    return frame;
  };
}

/** A message frame from stored or batched fields (`data` as the JSON string it travels as). */
export function messageFrame(fields: Omit<MessageFrame, 'type' | 'data'> & { data: string | null }): MessageFrame {
  return {
    type: 'message',
    id: fields.id,
    tid: fields.tid,
    msg: fields.msg,
    subject: fields.subject,
    data: appData(fields.data),
    urgency: fields.urgency,
    sentAt: fields.sentAt,
    variant: fields.variant,
  };
}

function event(
  batch: DeliveryBatch,
  recipient: DeliveryBatch['recipients'][number],
  type: 'sent' | 'expired',
  at: number,
  reason: string | null,
): DeliveryEvent {
  return buildDeliveryEvent({
    eventId: `${recipient.deliveryId}:${type}:${batch.attempt}`,
    type,
    at,
    messageId: batch.messageId,
    requestId: null,
    deliveryId: recipient.deliveryId,
    uid: recipient.uid,
    tid: batch.tid,
    channel: 'ws',
    deviceId: null,
    urgency: batch.urgency,
    experimentId: batch.experimentId,
    variant: recipient.variant,
    reason,
    detail: null,
    providerMessageId: null,
    attempt: batch.attempt,
    source: 'gateway',
    trace: batch.trace,
  });
}
