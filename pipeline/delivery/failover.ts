import type { OutgoingMessage } from './contract.ts';
import type { AttemptOutcome, ProviderPolicy } from './provider-policy.ts';

/**
 * A channel's providers in order, primary first (which is primary is configuration). A slice goes to the
 * first provider that may be called now; recipients that failed transiently there go to the next one at
 * once. When none may be called, the caller learns the earliest time one may.
 */
export interface Route {
  readonly providers: readonly ProviderPolicy[];
}

export type RouteResult =
  | { kind: 'sent'; outcomes: AttemptOutcome[] }
  | { kind: 'wait'; until: number; reason: string; provider: string };

export function createRoute(providers: ProviderPolicy[]): Route {
  if (providers.length === 0) throw new RangeError('a route needs at least one provider');
  return { providers };
}

/**
 * One step: sends what the providers take now, or says how long to wait before any may be called. Messages
 * the rate limit did not grant get no outcome and stay for the caller's next step; for a delivery tried on
 * two providers the last outcome is the one that counts (both are recorded).
 */
export async function sendOnRoute(
  route: Route,
  messages: OutgoingMessage[],
  signal: AbortSignal,
): Promise<RouteResult> {
  let pending = messages;
  const settled: AttemptOutcome[] = [];
  let earliest: { until: number; reason: string; provider: string } | undefined;
  for (const [index, policy] of route.providers.entries()) {
    if (pending.length === 0) break;
    const result = await policy.attempt(pending, signal);
    if (result.kind === 'wait') {
      if (!earliest || result.until < earliest.until) earliest = { ...result, provider: policy.provider };
      continue;
    }
    settled.push(...result.outcomes);
    if (index === route.providers.length - 1) break;
    const failed = new Set(result.outcomes.filter((o) => o.status === 'failed').map((o) => o.deliveryId));
    pending = pending.filter((message) => failed.has(message.recipient.deliveryId));
  }
  if (settled.length > 0) return { kind: 'sent', outcomes: settled };
  return { kind: 'wait', ...(earliest ?? { until: Date.now() + 1_000, reason: 'unavailable', provider: 'none' }) };
}
