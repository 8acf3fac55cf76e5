import { createBatcher, defaultBatchSizes } from '../../pipeline/records/batcher.ts';
import type { OutputRecord } from '../../pipeline/runtime/types.ts';
import type { DueEscalation, EscalationStore } from '../../pipeline/store/escalations.ts';
import type { Channel, FanoutJob, Recipient } from '../../schemas/types.generated.ts';

/**
 * Escalation of unacknowledged urgent messages, the simple version: fanout records a deadline per
 * recipient of a plan-fallback job; a periodic sweep in the ack stage reads the deadlines that fell due,
 * asks the delivery state whether the first channel was acknowledged, and if not claims the row (a
 * lightweight transaction, so two sweeping instances never both escalate) and emits a DeliveryBatch on
 * the fallback channel with `escalatedFrom` and `attempt` 1.
 */

export interface SweepDependencies {
  store: Pick<EscalationStore, 'due' | 'settle' | 'job'>;
  /** Whether the user acknowledged the message on that channel (delivered, opened, clicked or dismissed). */
  acknowledged: (messageId: string, uid: string, channel: Channel) => Promise<boolean>;
  /**
   * Whether every acknowledgement produced before `time` has been recorded (see recorded-until.ts). A
   * lagging ack stage (a broadcast's events queued before an urgent message's ack) has not recorded the ack
   * yet: deciding then would escalate a message the user already has, and they would get it twice.
   */
  recordedUntil: (time: number) => Promise<boolean>;
  /** Produces the records and resolves once Kafka acknowledged them. */
  emit: (records: OutputRecord[]) => Promise<void>;
  owner: string;
  now: () => number;
}

export interface SweepResult {
  escalated: number;
  acknowledged: number;
  /** Due rows left for a later sweep: the acknowledgements up to their deadline are not all recorded yet. */
  deferred: number;
}

/**
 * One sweep. A row is claimed (pending → escalated) before its batch is produced; if producing fails
 * the claim is handed back (escalated → pending) so the next sweep tries again. A process that dies
 * between the claim and the produce loses that escalation: the gap the simple version leaves.
 */
export async function sweepEscalations(deps: SweepDependencies): Promise<SweepResult> {
  const result: SweepResult = { escalated: 0, acknowledged: 0, deferred: 0 };
  const jobs = new Map<string, FanoutJob | null>();
  const due = await deps.store.due(deps.now());
  const decidable = await decidableRows(due, deps.recordedUntil);
  result.deferred = due.length - decidable.length;
  for (const row of decidable) {
    if (await deps.acknowledged(row.messageId, row.uid, row.channel)) {
      if (await deps.store.settle(row, 'acknowledged', deps.owner)) result.acknowledged++;
      continue;
    }
    let job = jobs.get(row.messageId);
    if (job === undefined) {
      job = await deps.store.job(row.messageId);
      jobs.set(row.messageId, job);
    }
    if (!job || row.fallback.length === 0) {
      await deps.store.settle(row, 'acknowledged', deps.owner);
      continue;
    }
    if (!(await deps.store.settle(row, 'escalated', deps.owner))) continue;
    try {
      await deps.emit(escalationRecords(job, row, deps.now));
      result.escalated++;
    } catch (error) {
      await deps.store.settle(row, 'pending', deps.owner, 'escalated');
      throw error;
    }
  }
  return result;
}

/**
 * The rows whose deadline the recorded acknowledgements have reached. Two probes at most (the latest deadline,
 * else the earliest): under a lag, the rows in between wait for the next sweep rather than cost more probes.
 */
async function decidableRows(
  rows: DueEscalation[],
  recordedUntil: SweepDependencies['recordedUntil'],
): Promise<DueEscalation[]> {
  if (rows.length === 0) return rows;
  // A loop, not Math.max(...): after an outage thousands of rows can fall due at once.
  let earliest = Number.POSITIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    earliest = Math.min(earliest, row.dueAt.getTime());
    latest = Math.max(latest, row.dueAt.getTime());
  }
  if (await recordedUntil(latest)) return rows;
  if (earliest === latest || !(await recordedUntil(earliest))) return [];
  return rows.filter((row) => row.dueAt.getTime() === earliest);
}

/** The fallback delivery of one user as a one-recipient batch (urgent messages have small audiences) plus its `escalated` event. */
export function escalationRecords(job: FanoutJob, row: DueEscalation, now: () => number): OutputRecord[] {
  const first = row.fallback[0];
  if (!first) return [];
  const batcher = createBatcher(job, defaultBatchSizes, { attempt: 1, escalatedFrom: row.channel, source: 'ack' }, now);
  const records: OutputRecord[] = [];
  for (const delivery of row.fallback) {
    const recipient: Recipient = {
      deliveryId: delivery.deliveryId,
      uid: row.uid,
      device: delivery.device,
      variant: row.variant,
      locale: row.locale,
    };
    records.push(...batcher.add(delivery.channel, recipient));
  }
  records.push(...batcher.flush());
  return records;
}
