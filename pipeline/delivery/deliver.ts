import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryBatch, Recipient } from '../../schemas/types.generated.ts';
import type { DeliveryPolicyConfig } from '../config/delivery.ts';
import type { Logger } from '../log/index.ts';
import { backoffDelay } from '../runtime/policy.ts';
import type { InputRecord, OutputRecord } from '../runtime/types.ts';
import type { DeviceChannel } from '../store/user-types.ts';
import type { Outcome, OutgoingMessage } from './contract.ts';
import { deliveryEvent, outcomeEvent } from './events.ts';
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
  const { stage, channel, metrics } = context;
  const outputs: OutputRecord[] = [];
  const count = (provider: string, outcome: string, n = 1) => metrics.outcomes.inc({ channel, provider, outcome }, n);

  if (context.route === null) {
    count('none', 'skipped', batch.recipients.length);
    return batch.recipients.map((recipient) =>
      deliveryEvent(stage, batch, recipient, {
        type: 'skipped',
        provider: null,
        reason: 'CHANNEL_DISABLED',
        detail: context.disabledReason,
        attempt,
      }),
    );
  }
  if (batch.expiresAt !== null && batch.expiresAt <= clock()) {
    count('none', 'expired', batch.recipients.length);
    return batch.recipients.map((recipient) =>
      deliveryEvent(stage, batch, recipient, { type: 'expired', provider: null, reason: 'EXPIRED', attempt }),
    );
  }

  const byId = new Map<string, Recipient>();
  const pending = new Map<string, OutgoingMessage>();
  for (const recipient of batch.recipients) {
    byId.set(recipient.deliveryId, recipient);
    if (recipient.device === null) {
      outputs.push(
        deliveryEvent(stage, batch, recipient, { type: 'rejected', provider: null, reason: 'NO_DEVICE', attempt }),
      );
      continue;
    }
    pending.set(recipient.deliveryId, { batch, recipient, attempt, ...contentFor(batch, recipient) });
  }

  const final = new Map<string, AttemptOutcome>();
  const steps = new Map<string, number>();
  const parked: ParkedBatch[] = [];
  const deadline = clock() + context.policy.maxWaitMs;
  while (pending.size > 0) {
    const result = await sendOnRoute(context.route, [...pending.values()], signal);
    if (result.kind === 'wait') {
      const park = result.until > deadline;
      metrics.waits.inc({ provider: result.provider, reason: park ? `${result.reason}_parked` : result.reason });
      if (park) {
        parked.push(parkOf(record, batch, [...pending.keys()], byId, attempt, result.until, result.reason));
        count(result.provider, 'parked', pending.size);
        pending.clear();
        break;
      }
      await sleep(Math.max(1, result.until - clock()), undefined, { signal });
      continue;
    }
    for (const outcome of result.outcomes) {
      const recipient = byId.get(outcome.deliveryId);
      if (recipient === undefined) continue;
      const step = steps.get(outcome.deliveryId) ?? 0;
      steps.set(outcome.deliveryId, step + 1);
      outputs.push(outcomeEvent(stage, batch, recipient, outcome, attempt, step));
      count(outcome.provider, outcome.status);
      final.set(outcome.deliveryId, outcome);
    }
    // A throttled recipient stays pending: the gate now holds the provider's time and the next step waits for it.
    for (const [id, outcome] of final) if (outcome.status !== 'throttled') pending.delete(id);
  }

  const failed = [...final.values()].filter(
    (outcome) => outcome.status === 'failed' && !pending.has(outcome.deliveryId),
  );
  if (failed.length > 0) {
    const ids = failed.map((outcome) => outcome.deliveryId);
    if (attempt + 1 >= context.policy.maxAttempts) {
      for (const id of ids) {
        outputs.push(
          deliveryEvent(stage, batch, byId.get(id)!, {
            type: 'failed',
            provider: final.get(id)!.provider,
            reason: 'RETRIES_EXHAUSTED',
            detail: `gave up after ${attempt + 1} attempts`,
            providerCode: final.get(id)!.providerCode ?? null,
            attempt,
            step: 1_000,
          }),
        );
      }
    } else {
      const delay = backoffDelay(attempt + 1, context.policy.retryBaseMs, context.policy.retryMaxMs);
      const readyAt = Math.min(...context.route.providers.map((provider) => provider.readyAt()));
      const retryAt = Math.max(clock() + delay, readyAt);
      parked.push(parkOf(record, batch, ids, byId, attempt + 1, retryAt, 'provider_failed'));
    }
  }
  for (const outcome of final.values()) {
    if (outcome.status !== 'rejected') continue;
    const recipient = byId.get(outcome.deliveryId)!;
    if (outcome.prune) {
      const change = await context.pruner.prune(
        channel,
        recipient,
        outcome.providerCode ?? 'UNREGISTERED',
        outcome.invalidSince,
      );
      if (change !== null) {
        outputs.push(change);
        metrics.pruned.inc({ channel, provider: outcome.provider });
      }
    }
    if (outcome.suppress && context.suppress) await context.suppress(recipient, outcome);
  }
  await context.retry.park(parked);
  return outputs;
}

function parkOf(
  source: InputRecord<DeliveryBatch>,
  batch: DeliveryBatch,
  ids: string[],
  byId: Map<string, Recipient>,
  attempt: number,
  retryAt: number,
  reason: string,
): ParkedBatch {
  return {
    source,
    batch: { ...batch, recipients: ids.map((id) => byId.get(id)!) },
    attempt,
    retryAt,
    code: reason.toUpperCase(),
    message: `${ids.length} recipients wait for the provider (${reason})`,
  };
}
