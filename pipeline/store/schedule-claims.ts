import { mapLimit } from '../concurrency/index.ts';
import { dueRows, keyOf, type RowKey, rowKey, type ScheduleContext, ttlFor } from './schedule-rows.ts';
import type { ScheduledRow } from './schedule-types.ts';
import { execute } from './shared.ts';

/** A conditional state change of one schedule row: the LWT that orders claims, completions and cancels. */
export async function setState(
  ctx: ScheduleContext,
  row: RowKey,
  change: { set: string; values: unknown[]; condition: string; expected: unknown[] },
  what: string,
) {
  return execute(
    ctx.client,
    `UPDATE schedule USING TTL ? SET ${change.set} ${rowKey} IF ${change.condition}`,
    [ttlFor(ctx, row.dueAt, Date.now()), ...change.values, ...keyOf(row), ...change.expected],
    what,
  );
}

export async function claim(
  ctx: ScheduleContext,
  row: ScheduledRow,
  owner: string,
  leaseUntil: number | Date,
): Promise<boolean> {
  const change = {
    set: "state = 'claimed', owner = ?, lease_until = ?, claimed_at = ?, attempts = ?",
    values: [owner, new Date(leaseUntil), new Date(), row.attempts + 1],
    condition: 'state = ? AND owner = ? AND lease_until = ?',
    expected: [row.state, row.owner, row.leaseUntil],
  };
  const result = await setState(ctx, row, change, 'claim a scheduled request');
  if (result.wasApplied()) return true;
  // A retried LWT whose first attempt did apply finds our own claim.
  const current = result.rows[0];
  return current?.get('state') === 'claimed' && current.get('owner') === owner;
}

/** Finds due rows and claims them; returns the rows this owner won (at most `limit`). */
export async function claimDue(
  ctx: ScheduleContext,
  now: number | Date,
  owner: string,
  options: { limit?: number; leaseMs?: number } = {},
): Promise<ScheduledRow[]> {
  const at = now instanceof Date ? now.getTime() : now;
  const rows = await dueRows(ctx, at, options.limit ?? 500);
  const leaseUntil = at + (options.leaseMs ?? 30_000);
  const won = await mapLimit(rows, 16, async (row) => ((await claim(ctx, row, owner, leaseUntil)) ? row : null));
  return won.filter((row): row is ScheduledRow => row !== null);
}

/** Marks a claimed row re-injected; false when this owner no longer holds it. */
export async function complete(ctx: ScheduleContext, row: ScheduledRow, owner: string): Promise<boolean> {
  const change = {
    set: "state = 'done', done_at = ?",
    values: [new Date()],
    condition: "state = 'claimed' AND owner = ?",
    expected: [owner],
  };
  const result = await setState(ctx, row, change, 'complete a scheduled request');
  return result.wasApplied() || (result.rows[0]?.get('state') === 'done' && result.rows[0]?.get('owner') === owner);
}

/** Gives a claimed row back (re-injecting failed) so the next tick retries it at once. */
export async function release(ctx: ScheduleContext, row: ScheduledRow, owner: string): Promise<boolean> {
  const change = {
    set: "state = 'pending', owner = null, lease_until = null",
    values: [],
    condition: "state = 'claimed' AND owner = ?",
    expected: [owner],
  };
  const result = await setState(ctx, row, change, 'release a scheduled request');
  return result.wasApplied();
}
