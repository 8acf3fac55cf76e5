import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryBatch, Recipient } from '../../schemas/types.generated.ts';
import type { DeviceSecrets } from '../audience-index/device-secrets.ts';
import type { DeliveryPolicyConfig } from '../config/delivery.ts';
import type { Logger } from '../log/index.ts';
import { backoffDelay } from '../runtime/policy.ts';
import type { InputRecord, OutputRecord } from '../runtime/types.ts';
import type { DeviceChannel } from '../store/user-types.ts';
import type { Outcome, OutgoingMessage } from './contract.ts';
import { deliveryEvent, type EventFacts, outcomeEvent } from './events.ts';
import { type Route, sendOnRoute } from './failover.ts';
import type { DeliveryMetrics } from './metrics.ts';
import type { AttemptOutcome } from './provider-policy.ts';
import type { Pruner } from './pruning.ts';
import { deliveryAttemptHeader, type ParkedBatch, type RetryQueue } from './retry-queue.ts';

/** What the delivery handler needs; `route` null means the channel is disabled here. */
export interface DeliveryContext {
  stage: string;
  channel: DeviceChannel;
  route: Route | null;
  disabledReason: string;
  policy: DeliveryPolicyConfig;
  pruner: Pruner;
  retry: RetryQueue;
  metrics: DeliveryMetrics;
  log: Logger;
  /**
   * Opens a recipient's device just before sending: fanout hands devices on sealed, so tokens and keys cross
   * Kafka (and the retry topic, and dead letters) only sealed. A device written before sealing opens as it is.
   */
  secrets: DeviceSecrets;
  /** A rejected outcome that asks for it (hard bounce, complaint, STOP): the channel suppresses the address. */
  suppress?: (recipient: Recipient, outcome: Outcome) => Promise<void>;
  clock?: () => number;
}

/** The attempt a record carries: 0 fresh, n after n trips through the retry topic that counted. */
export function attemptOf(record: InputRecord<DeliveryBatch>): number {
  const value = Number(record.headers[deliveryAttemptHeader] ?? 0);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

/** The text a recipient gets: their experiment variant's subject and message when it has them. */
export function contentFor(
  batch: DeliveryBatch,
  recipient: Recipient,
): { subject: string | null; text: string | null } {
  const variant = recipient.variant ? batch.variants?.find((candidate) => candidate.name === recipient.variant) : null;
  return { subject: variant?.subject ?? batch.subject, text: variant?.msg ?? batch.msg };
}

/**
 * Delivers one DeliveryBatch record: every recipient ends with an outcome event, a park in the retry topic
 * (transient failure: attempt + 1 after a jittered back-off; provider waiting longer than `maxWaitMs`: same
 * attempt, at the time the provider or breaker gave), or both. Never throws for a provider's answer; throws
 * only when Cassandra or Kafka fail, and the runtime then retries the record (repeats are counted downstream).
 */
export async function deliverRecord(
  record: InputRecord<DeliveryBatch>,
  context: DeliveryContext,
  signal: AbortSignal,
): Promise<OutputRecord[]> {
  const clock = context.clock ?? Date.now;
  const batch = record.value;
  const attempt = attemptOf(record);
  const count = (provider: string, outcome: string, n = 1) =>
    context.metrics.outcomes.inc({ channel: context.channel, provider, outcome }, n);
  const event = (recipient: Recipient, facts: Omit<EventFacts, 'attempt'>) =>
    deliveryEvent(context.stage, batch, recipient, { ...facts, attempt });

  if (context.route === null) {
    count('none', 'skipped', batch.recipients.length);
    return batch.recipients.map((recipient) =>
      event(recipient, { type: 'skipped', provider: null, reason: 'CHANNEL_DISABLED', detail: context.disabledReason }),
    );
  }
  if (batch.expiresAt !== null && batch.expiresAt <= clock()) {
    count('none', 'expired', batch.recipients.length);
    return batch.recipients.map((recipient) =>
      event(recipient, { type: 'expired', provider: null, reason: 'EXPIRED' }),
    );
  }
  const work: Work = {
    record,
    attempt,
    route: context.route,
    context,
    clock,
    count,
    byId: new Map(),
    pending: new Map(),
    final: new Map(),
    outputs: [],
    parked: [],
  };
  for (const recipient of batch.recipients) {
    work.byId.set(recipient.deliveryId, recipient);
    if (recipient.device === null) {
      work.outputs.push(event(recipient, { type: 'rejected', provider: null, reason: 'NO_DEVICE' }));
      continue;
    }
    const device = context.secrets.open(recipient.uid, recipient.device);
    if (device === null) {
      // An unknown key or an altered value: no retry opens it. By id only, never the value.
      context.log.warn({ uid: recipient.uid, deviceId: recipient.device.id }, 'device secret does not open');
      work.outputs.push(event(recipient, { type: 'rejected', provider: null, reason: 'DEVICE_UNREADABLE' }));
      continue;
    }
    // Only the message sent holds the opened device: a park re-produces the recipient from byId, still sealed.
    const opened = { ...recipient, device };
    work.pending.set(recipient.deliveryId, { batch, recipient: opened, attempt, ...contentFor(batch, opened) });
  }
  await sendAll(work, signal);
  retryOrGiveUp(work);
  await applyRejections(work);
  await context.retry.park(work.parked);
  return work.outputs;
}

/** One record's delivery in progress. */
interface Work {
  record: InputRecord<DeliveryBatch>;
  attempt: number;
  route: Route;
  context: DeliveryContext;
  clock: () => number;
  count: (provider: string, outcome: string, n?: number) => void;
  byId: Map<string, Recipient>;
  /** Recipients without an outcome yet (or throttled, waiting for the provider's time). */
  pending: Map<string, OutgoingMessage>;
  /** The latest outcome per recipient. */
  final: Map<string, AttemptOutcome>;
  outputs: OutputRecord[];
  parked: ParkedBatch[];
}

/** Sends until every recipient has an outcome, waiting in-process up to maxWaitMs and parking beyond that. */
async function sendAll(work: Work, signal: AbortSignal): Promise<void> {
  const { context, pending, record, clock } = work;
  const batch = record.value;
  const steps = new Map<string, number>();
  const deadline = clock() + context.policy.maxWaitMs;
  while (pending.size > 0) {
    const result = await sendOnRoute(work.route, [...pending.values()], signal);
    if (result.kind === 'wait') {
      const park = result.until > deadline;
      context.metrics.waits.inc({
        provider: result.provider,
        reason: park ? `${result.reason}_parked` : result.reason,
      });
      if (park) {
        work.parked.push(parkOf(record, [...pending.keys()], work.byId, work.attempt, result.until, result.reason));
        work.count(result.provider, 'parked', pending.size);
        pending.clear();
        return;
      }
      await sleep(Math.max(1, result.until - clock()), undefined, { signal });
      continue;
    }
    for (const outcome of result.outcomes) {
      const recipient = work.byId.get(outcome.deliveryId);
      if (recipient === undefined) continue;
      const step = steps.get(outcome.deliveryId) ?? 0;
      steps.set(outcome.deliveryId, step + 1);
      work.outputs.push(outcomeEvent(context.stage, batch, recipient, outcome, work.attempt, step));
      work.count(outcome.provider, outcome.status);
      work.final.set(outcome.deliveryId, outcome);
    }
    // A throttled recipient stays pending: the gate now holds the provider's time and the next step waits for it.
    for (const [id, outcome] of work.final) if (outcome.status !== 'throttled') pending.delete(id);
  }
}

/** Transient failures: parked for the next attempt after a jittered back-off, or a final `failed` once spent. */
function retryOrGiveUp(work: Work): void {
  const { context, attempt } = work;
  const ids = [...work.final.values()]
    .filter((outcome) => outcome.status === 'failed' && !work.pending.has(outcome.deliveryId))
    .map((outcome) => outcome.deliveryId);
  if (ids.length === 0) return;
  if (attempt + 1 >= context.policy.maxAttempts) {
    for (const id of ids) {
      const last = work.final.get(id)!;
      work.outputs.push(
        deliveryEvent(context.stage, work.record.value, work.byId.get(id)!, {
          type: 'failed',
          provider: last.provider,
          reason: 'RETRIES_EXHAUSTED',
          detail: `gave up after ${attempt + 1} attempts`,
          providerCode: last.providerCode ?? null,
          attempt,
          step: 1_000,
        }),
      );
    }
    return;
  }
  const delay = backoffDelay(attempt + 1, context.policy.retryBaseMs, context.policy.retryMaxMs);
  const readyAt = Math.min(...work.route.providers.map((provider) => provider.readyAt()));
  const retryAt = Math.max(work.clock() + delay, readyAt);
  work.parked.push(parkOf(work.record, ids, work.byId, attempt + 1, retryAt, 'provider_failed'));
}

/** Permanent rejections: prune dead devices (an audience change each) and suppress what the provider says to. */
async function applyRejections(work: Work): Promise<void> {
  const { context } = work;
  for (const outcome of work.final.values()) {
    if (outcome.status !== 'rejected') continue;
    const recipient = work.byId.get(outcome.deliveryId)!;
    if (outcome.prune) {
      const reason = outcome.providerCode ?? 'UNREGISTERED';
      const change = await context.pruner.prune(context.channel, recipient, reason, outcome.invalidSince);
      if (change !== null) {
        work.outputs.push(change);
        context.metrics.pruned.inc({ channel: context.channel, provider: outcome.provider });
      }
    }
    if (outcome.suppress && context.suppress) await context.suppress(recipient, outcome);
  }
}

function parkOf(
  source: InputRecord<DeliveryBatch>,
  ids: string[],
  byId: Map<string, Recipient>,
  attempt: number,
  retryAt: number,
  reason: string,
): ParkedBatch {
  return {
    source,
    batch: { ...source.value, recipients: ids.map((id) => byId.get(id)!) },
    attempt,
    retryAt,
    code: reason.toUpperCase(),
    message: `${ids.length} recipients wait for the provider (${reason})`,
  };
}
