import { resolveUrgency } from '../../pipeline/records/urgency.ts';
import type { IngestRequest } from '../../schemas/types.generated.ts';

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

/** The lane urgency: the request's own, else the thread's default, else normal (pipeline/records/urgency.ts). */
export function laneUrgency(request: IngestRequest, threadDefault: number | null | undefined): number {
  return resolveUrgency(request.urgency, threadDefault);
}
