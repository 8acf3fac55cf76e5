import type { Client } from 'cassandra-driver';
import { mapLimit } from '../concurrency/index.ts';
import { floorMinute, MINUTE_MS, SCHEDULE_SHARDS, type ScheduledRow, type ScheduleState } from './schedule-types.ts';
import { date, execute, type Row, text } from './shared.ts';

/** What every schedule query needs: the session and the store's options, resolved. */
export interface ScheduleContext {
  client: Client;
  /** Rows are kept this long after they are due (for inspection), then expire. */
  retainSeconds: number;
  /** Most minutes one `dueRows` call scans when catching up after downtime. */
  maxMinutes: number;
}

export type RowKey = Pick<ScheduledRow, 'minute' | 'shard' | 'dueAt' | 'requestId'>;

const WATERMARK = 'scheduler';
const rowColumns = 'minute, shard, due_at, request_id, record, sender_id, state, owner, lease_until, attempts';
export const rowKey = 'WHERE minute = ? AND shard = ? AND due_at = ? AND request_id = ?';

export const keyOf = (row: RowKey) => [row.minute, row.shard, row.dueAt, row.requestId];

/** Every write carries a TTL, or its cells would outlive the row and keep it forever. */
export const ttlFor = (ctx: ScheduleContext, dueAt: Date, now: number) =>
  Math.max(60, Math.ceil((dueAt.getTime() - now) / 1000)) + ctx.retainSeconds;

async function readWatermark(ctx: ScheduleContext, now: number): Promise<number> {
  const result = await execute(
    ctx.client,
    'SELECT minute FROM schedule_watermark WHERE name = ?',
    [WATERMARK],
    'read the schedule watermark',
  );
  const minute = result.rows[0]?.get('minute') as Date | undefined;
  return floorMinute(minute?.getTime() ?? now - 60 * MINUTE_MS).getTime();
}

/** Only forward: the write timestamp is the minute itself, so an older value can never win. */
async function advanceWatermark(ctx: ScheduleContext, minute: number): Promise<void> {
  await execute(
    ctx.client,
    'UPDATE schedule_watermark USING TIMESTAMP ? SET minute = ? WHERE name = ?',
    [minute * 1000, new Date(minute), WATERMARK],
    'advance the schedule watermark',
  );
}

/** One minute's rows due by `at` over every shard; `unresolved` when some are still pending or claimed. */
async function scanMinute(ctx: ScheduleContext, minute: number, at: number) {
  const pages = await mapLimit([...Array(SCHEDULE_SHARDS).keys()], 4, (shard) =>
    execute(
      ctx.client,
      `SELECT ${rowColumns} FROM schedule WHERE minute = ? AND shard = ? AND due_at <= ?`,
      [new Date(minute), shard, new Date(at)],
      'read due scheduled requests',
      { fetchSize: 1000 },
    ),
  );
  const due: ScheduledRow[] = [];
  let unresolved = false;
  for (const page of pages) {
    if (page.pageState) unresolved = true;
    for (const row of page.rows.map(toRow)) {
      if (row.state === 'pending' || row.state === 'claimed') unresolved = true;
      const leaseOver = row.state === 'claimed' && (row.leaseUntil?.getTime() ?? 0) < at;
      if (row.state === 'pending' || leaseOver) due.push(row);
    }
  }
  return { due, unresolved };
}

/** Rows due by `now` that are pending or whose lease ran out, oldest first; moves the watermark on. */
export async function dueRows(ctx: ScheduleContext, now: number | Date, limit = 500): Promise<ScheduledRow[]> {
  const at = now instanceof Date ? now.getTime() : now;
  const watermark = await readWatermark(ctx, at);
  const end = floorMinute(at).getTime();
  const due: ScheduledRow[] = [];
  let firstUnresolved: number | null = null;
  let minute = watermark;
  for (; minute <= end && minute < watermark + ctx.maxMinutes * MINUTE_MS && due.length < limit; minute += MINUTE_MS) {
    const scanned = await scanMinute(ctx, minute, at);
    due.push(...scanned.due);
    if (scanned.unresolved && firstUnresolved === null) firstUnresolved = minute;
  }
  // The minute before the current one is always rescanned: a writer's clock may lag by a little.
  const next = Math.min(firstUnresolved ?? minute, end - MINUTE_MS);
  if (next > watermark) await advanceWatermark(ctx, next);
  return due.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime()).slice(0, limit);
}

function toRow(row: Row): ScheduledRow {
  return {
    minute: date(row, 'minute') as Date,
    shard: row.get('shard') as number,
    dueAt: date(row, 'due_at') as Date,
    requestId: row.get('request_id') as string,
    record: row.get('record') as Buffer,
    senderId: text(row, 'sender_id'),
    state: row.get('state') as ScheduleState,
    owner: text(row, 'owner'),
    leaseUntil: date(row, 'lease_until'),
    attempts: (row.get('attempts') as number | null) ?? 0,
  };
}
