import type { Client } from 'cassandra-driver';
import { claim, claimDue, complete, release, setState } from './schedule-claims.ts';
import { dueRows, rowKey, type ScheduleContext, ttlFor } from './schedule-rows.ts';
import {
  type CancelOutcome,
  floorMinute,
  SCHEDULE_SHARDS,
  type ScheduledInfo,
  type ScheduleEntry,
  type ScheduleState,
} from './schedule-types.ts';
import { bindTo, bucketOf, date, execute, type Row, text } from './shared.ts';

export * from './schedule-types.ts';

export interface ScheduleStoreOptions {
  /** Rows are kept this long after they are due (for inspection), then expire. */
  retainSeconds?: number;
  /** Most minutes one `dueRows` call scans when catching up after downtime. */
  maxMinutesPerScan?: number;
}

export type ScheduleStore = ReturnType<typeof createScheduleStore>;

/**
 * The time-bucketed schedule. Writers hold requests (`schedule`); schedulers find due rows
 * (`dueRows`), claim them with an LWT on (state, owner, lease) so exactly one instance wins each,
 * re-inject, then `complete`. A claim is a lease: rows of a scheduler that died are due again when
 * the lease ends. `cancelScheduled` races claims through the same LWT, so a request is either
 * cancelled (never re-injected) or too late to cancel, never both.
 */
export function createScheduleStore(client: Client, options: ScheduleStoreOptions = {}) {
  const ctx: ScheduleContext = {
    client,
    retainSeconds: options.retainSeconds ?? 7 * 86_400,
    maxMinutes: options.maxMinutesPerScan ?? 180,
  };
  const bound = bindTo(ctx);
  return {
    dueRows: bound(dueRows),
    claim: bound(claim),
    schedule: bound(schedule),
    claimDue: bound(claimDue),
    complete: bound(complete),
    release: bound(release),
    cancelScheduled: bound(cancelScheduled),
    getScheduled: bound(getScheduled),
  };
}

/**
 * Holds a request until `dueAt`. Idempotent and never revives: an id already held (pending,
 * done or cancelled) is left as it is. Returns whether this call created the entry.
 */
async function schedule(ctx: ScheduleContext, entry: ScheduleEntry, now = Date.now()): Promise<boolean> {
  const dueAt = new Date(entry.dueAt);
  // A due time in the past lands in the current minute, which schedulers have not passed yet.
  const minute = floorMinute(Math.max(dueAt.getTime(), now));
  const shard = bucketOf(entry.requestId, SCHEDULE_SHARDS);
  const ttl = ttlFor(ctx, dueAt, now);
  const claimed = await execute(
    ctx.client,
    'INSERT INTO schedule_by_request (request_id, minute, shard, due_at, sender_id, scheduled_at) ' +
      'VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?',
    [entry.requestId, minute, shard, dueAt, entry.senderId ?? null, new Date(now), ttl],
    'hold a scheduled request',
  );
  // Already held: complete the entry only if an earlier attempt died between the two writes.
  const existing = claimed.wasApplied() ? null : (claimed.rows[0] as Row);
  const target = existing ? indexLocation(existing) : { minute, shard, dueAt };
  await execute(
    ctx.client,
    'INSERT INTO schedule (minute, shard, due_at, request_id, record, sender_id, state, attempts) ' +
      "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0) IF NOT EXISTS USING TTL ?",
    [target.minute, target.shard, target.dueAt, entry.requestId, entry.record, entry.senderId ?? null, ttl],
    'hold a scheduled request',
  );
  return existing === null;
}

/** Cancels a pending request; the LWT orders it against claims, so the outcome is final. */
async function cancelScheduled(
  ctx: ScheduleContext,
  requestId: string,
  by: string,
  at = new Date(),
): Promise<CancelOutcome> {
  const index = await readIndex(ctx, requestId);
  if (index === null) return 'not_found';
  const change = {
    set: "state = 'cancelled', cancelled_by = ?, cancelled_at = ?",
    values: [by, at],
    condition: "state = 'pending'",
    expected: [],
  };
  const result = await setState(ctx, { ...index, requestId }, change, 'cancel a scheduled request');
  if (result.wasApplied()) return 'cancelled';
  const state = result.rows[0]?.get('state') as ScheduleState | null | undefined;
  if (state === 'cancelled') return 'already_cancelled';
  return state === 'claimed' || state === 'done' ? 'too_late' : 'not_found';
}

/** A scheduled request's whereabouts and state, for the API (who may cancel) and support. */
async function getScheduled(ctx: ScheduleContext, requestId: string): Promise<ScheduledInfo | null> {
  const index = await readIndex(ctx, requestId);
  if (index === null) return null;
  const result = await execute(
    ctx.client,
    `SELECT state, cancelled_by FROM schedule ${rowKey}`,
    [index.minute, index.shard, index.dueAt, requestId],
    'read a scheduled request',
  );
  const row = result.rows[0];
  return {
    requestId,
    dueAt: index.dueAt,
    senderId: index.senderId,
    scheduledAt: index.scheduledAt,
    state: row ? (row.get('state') as ScheduleState) : null,
    cancelledBy: row ? text(row, 'cancelled_by') : null,
  };
}

function indexLocation(row: Row) {
  return { minute: date(row, 'minute') as Date, shard: row.get('shard') as number, dueAt: date(row, 'due_at') as Date };
}

async function readIndex(ctx: ScheduleContext, requestId: string) {
  const result = await execute(
    ctx.client,
    'SELECT minute, shard, due_at, sender_id, scheduled_at FROM schedule_by_request WHERE request_id = ?',
    [requestId],
    'read a scheduled request',
  );
  const row = result.rows[0];
  if (!row) return null;
  return { ...indexLocation(row), senderId: text(row, 'sender_id'), scheduledAt: date(row, 'scheduled_at') };
}
