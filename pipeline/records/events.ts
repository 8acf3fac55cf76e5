import type { DeliveryEvent, FanoutJob, IngestRequest, PrioritizedRequest } from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';
import type { OutputRecord } from '../runtime/types.ts';

/**
 * Pipeline events about a whole fanout job rather than one delivery: triage's `queued`, fanout's `expired`
 * and `dropped`. Their ids derive from the message id, so an event emitted twice (a redelivered batch) is
 * written once by idempotent sinks.
 */
export function jobEvent(
  job: FanoutJob,
  fields: Pick<DeliveryEvent, 'eventId' | 'type' | 'at' | 'reason' | 'detail' | 'attempt' | 'source'>,
): DeliveryEvent {
  return buildDeliveryEvent({
    eventId: fields.eventId,
    type: fields.type,
    at: fields.at,
    messageId: job.messageId,
    requestId: job.requestId,
    deliveryId: null,
    uid: null,
    tid: job.tid,
    channel: null,
    deviceId: null,
    urgency: job.urgency,
    experimentId: job.experiment?.id ?? null,
    variant: null,
    reason: fields.reason,
    detail: fields.detail,
    providerMessageId: null,
    attempt: fields.attempt,
    source: fields.source,
    trace: job.trace,
  });
}

/** An event the fanout stage emits about a job or one of its slices, as a record for the events topic. */
export function fanoutEventRecord(
  job: FanoutJob,
  type: DeliveryEvent['type'],
  at: number,
  fields: { idSuffix: string; reason: string; detail: string | null },
): OutputRecord {
  const slice = job.slice ? `${job.slice.id}/${job.slice.max}` : 'all';
  const event = jobEvent(job, {
    eventId: `${job.messageId}:fanout:${slice}:${fields.idSuffix}`,
    type,
    at,
    reason: fields.reason,
    detail: fields.detail,
    attempt: 0,
    source: 'fanout',
  });
  return { topic: 'events', key: job.messageId, value: event };
}

export function prioritized(
  request: IngestRequest,
  urgency: number,
  expiresAt: number | null,
  now: number,
  scheduled: boolean,
): PrioritizedRequest {
  return { request, urgency, expiresAt, prioritizedAt: now, scheduled };
}

/**
 * A pipeline event about a request that has no message yet. The event id is derived from the request id and
 * the event type, so an event emitted twice (a redelivered batch) is written once by idempotent sinks.
 */
export function requestEvent(
  request: IngestRequest,
  type: 'expired' | 'scheduled' | 'cancelled' | 'dropped',
  at: number,
  source: string,
  extra: Partial<Pick<DeliveryEvent, 'reason' | 'detail' | 'urgency'>> = {},
): DeliveryEvent {
  return buildDeliveryEvent({
    eventId: `${request.requestId}:${type}`,
    type,
    at,
    messageId: null,
    requestId: request.requestId,
    deliveryId: null,
    uid: null,
    tid: request.tid,
    channel: null,
    deviceId: null,
    urgency: extra.urgency ?? request.urgency,
    experimentId: request.experimentId,
    variant: null,
    reason: extra.reason ?? null,
    detail: extra.detail ?? null,
    providerMessageId: null,
    attempt: null,
    source,
    trace: request.trace,
  });
}
