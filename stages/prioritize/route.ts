import type { DeliveryEvent, IngestRequest, PrioritizedRequest } from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';

/** Logical lane topic of an urgency (1 very-low … 4 high). */
export const laneTopic = (urgency: number) => `lane.${urgency}`;
export const laneTopics = [laneTopic(1), laneTopic(2), laneTopic(3), laneTopic(4)] as const;

/** The urgency used when neither the request nor its thread names one (RFC 8030 "normal"). */
export const DEFAULT_URGENCY = 3;

/**
 * A request scheduled less than this far ahead is routed at once: holding it would cost a Cassandra round
 * trip and up to a scheduler tick for nothing, and clocks between the facade and this stage drift a little.
 */
export const DEFAULT_SCHEDULE_SLACK_MS = 2_000;

/** The request's expiry: expiresAt wins; else ttlSeconds from scheduledAt (when set) or createdAt; else never. */
export function resolveExpiry(request: IngestRequest): number | null {
  if (request.expiresAt !== null) return request.expiresAt;
  if (request.ttlSeconds === null) return null;
  return (request.scheduledAt ?? request.createdAt) + request.ttlSeconds * 1000;
}

export type Route =
  | { action: 'expire'; expiresAt: number }
  | { action: 'hold'; dueAt: number; expiresAt: number | null }
  | { action: 'lane'; expiresAt: number | null };

/** What to do with a valid request at `now`. Expiry is checked first: an expired scheduled request is not held. */
export function route(request: IngestRequest, now: number, slackMs = DEFAULT_SCHEDULE_SLACK_MS): Route {
  const expiresAt = resolveExpiry(request);
  if (expiresAt !== null && expiresAt <= now) return { action: 'expire', expiresAt };
  if (request.scheduledAt !== null && request.scheduledAt > now + slackMs) {
    return { action: 'hold', dueAt: request.scheduledAt, expiresAt };
  }
  return { action: 'lane', expiresAt };
}

/** The lane urgency: the request's own, else the thread's default, else normal. */
export function laneUrgency(request: IngestRequest, threadDefault: number | null | undefined): number {
  const urgency = request.urgency ?? threadDefault ?? DEFAULT_URGENCY;
  return Math.min(4, Math.max(1, Math.trunc(urgency)));
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
