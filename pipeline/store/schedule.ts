import type { Client } from 'cassandra-driver';
import { mapLimit } from '../concurrency/index.ts';
import {
  type CancelOutcome,
  floorMinute,
  MINUTE_MS,
  SCHEDULE_SHARDS,
  type ScheduledInfo,
  type ScheduledRow,
  type ScheduleEntry,
  type ScheduleState,
} from './schedule-types.ts';
import { bucketOf, date, execute, type Row, text } from './shared.ts';

export * from './schedule-types.ts';

export interface ScheduleStoreOptions {
  /** Rows are kept this long after they are due (for inspection), then expire. */
  retainSeconds?: number;
  /** Most minutes one `dueRows` call scans when catching up after downtime. */
  maxMinutesPerScan?: number;
}

const WATERMARK = 'scheduler';
const rowColumns = 'minute, shard, due_at, request_id, record, sender_id, state, owner, lease_until, attempts';
const rowKey = 'WHERE minute = ? AND shard = ? AND due_at = ? AND request_id = ?';

export type ScheduleStore = ReturnType<typeof createScheduleStore>;

/**
 * The time-bucketed schedule. Writers hold requests (`schedule`); schedulers find due rows
 * (`dueRows`), claim them with an LWT on (state, owner, lease) so exactly one instance wins each,
 * re-inject, then `complete`. A claim is a lease: rows of a scheduler that died are due again when
 * the lease ends. `cancelScheduled` races claims through the same LWT, so a request is either
 * cancelled (never re-injected) or too late to cancel, never both.
 */
export function createScheduleStore(client: Client, options: ScheduleStoreOptions = {}) {
  const retainSeconds = options.retainSeconds ?? 7 * 86_400;
  const maxMinutes = options.maxMinutesPerScan ?? 180;
  const key = (row: Pick<ScheduledRow, 'minute' | 'shard' | 'dueAt' | 'requestId'>) => [
    row.minute,
    row.shard,
    row.dueAt,
    row.requestId,
  ];
  // Every write carries a TTL, or its cells would outlive the row and keep it forever.
  const ttlFor = (dueAt: Date, now: number) => Math.max(60, Math.ceil((dueAt.getTime() - now) / 1000)) + retainSeconds;

  async function readWatermark(now: number): Promise<number> {
    const result = await execute(
      client,
      'SELECT minute FROM schedule_watermark WHERE name = ?',
      [WATERMARK],
      'read the schedule watermark',
    );
    const minute = result.rows[0]?.get('minute') as Date | undefined;
    return floorMinute(minute?.getTime() ?? now - 60 * MINUTE_MS).getTime();
  }

  /** Only forward: the write timestamp is the minute itself, so an older value can never win. */
  async function advanceWatermark(minute: number): Promise<void> {
    await execute(
      client,
      'UPDATE schedule_watermark USING TIMESTAMP ? SET minute = ? WHERE name = ?',
      [minute * 1000, new Date(minute), WATERMARK],
      'advance the schedule watermark',
    );
  }

  async function setState(
    row: Pick<ScheduledRow, 'minute' | 'shard' | 'dueAt' | 'requestId'>,
    set: string,
    values: unknown[],
    condition: string,
    expected: unknown[],
    what: string,
  ) {
    const now = Date.now();
    return execute(
      client,
      `UPDATE schedule USING TTL ? SET ${set} ${rowKey} IF ${condition}`,
      [ttlFor(row.dueAt, now), ...values, ...key(row), ...expected],
      what,
    );
  }

  async function claim(row: ScheduledRow, owner: string, leaseUntil: number | Date): Promise<boolean> {
    const now = new Date();
    const result = await setState(
      row,
      "state = 'claimed', owner = ?, lease_until = ?, claimed_at = ?, attempts = ?",
      [owner, new Date(leaseUntil), now, row.attempts + 1],
      'state = ? AND owner = ? AND lease_until = ?',
      [row.state, row.owner, row.leaseUntil],
      'claim a scheduled request',
    );
    if (result.wasApplied()) return true;
    // A retried LWT whose first attempt did apply finds our own claim.
    const current = result.rows[0];
    return current?.get('state') === 'claimed' && current.get('owner') === owner;
  }

  /** Rows due by `now` that are pending or whose lease ran out, oldest first; moves the watermark on. */
  async function dueRows(now: number | Date, limit = 500): Promise<ScheduledRow[]> {
    const at = now instanceof Date ? now.getTime() : now;
    const watermark = await readWatermark(at);
    const end = floorMinute(at).getTime();
    const due: ScheduledRow[] = [];
    let firstUnresolved: number | null = null;
    let minute = watermark;
    for (; minute <= end && minute < watermark + maxMinutes * MINUTE_MS && due.length < limit; minute += MINUTE_MS) {
      const pages = await mapLimit([...Array(SCHEDULE_SHARDS).keys()], 4, (shard) =>
        execute(
          client,
          `SELECT ${rowColumns} FROM schedule WHERE minute = ? AND shard = ? AND due_at <= ?`,
          [new Date(minute), shard, new Date(at)],
          'read due scheduled requests',
          { fetchSize: 1000 },
        ),
      );
      let unresolved = false;
      for (const page of pages) {
        if (page.pageState) unresolved = true;
        for (const row of page.rows.map(toRow)) {
          if (row.state === 'pending' || row.state === 'claimed') unresolved = true;
          const leaseOver = row.state === 'claimed' && (row.leaseUntil?.getTime() ?? 0) < at;
          if (row.state === 'pending' || leaseOver) due.push(row);
        }
      }
      if (unresolved && firstUnresolved === null) firstUnresolved = minute;
    }
    // The minute before the current one is always rescanned: a writer's clock may lag by a little.
    const next = Math.min(firstUnresolved ?? minute, end - MINUTE_MS);
    if (next > watermark) await advanceWatermark(next);
    return due.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime()).slice(0, limit);
  }

  return {
    dueRows,
    claim,

    /**
     * Holds a request until `dueAt`. Idempotent and never revives: an id already held (pending,
     * done or cancelled) is left as it is. Returns whether this call created the entry.
     */
    async schedule(entry: ScheduleEntry, now = Date.now()): Promise<boolean> {
      const dueAt = new Date(entry.dueAt);
      // A due time in the past lands in the current minute, which schedulers have not passed yet.
      const minute = floorMinute(Math.max(dueAt.getTime(), now));
      const shard = bucketOf(entry.requestId, SCHEDULE_SHARDS);
      const ttl = ttlFor(dueAt, now);
      const claimed = await execute(
        client,
        'INSERT INTO schedule_by_request (request_id, minute, shard, due_at, sender_id, scheduled_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?',
        [entry.requestId, minute, shard, dueAt, entry.senderId ?? null, new Date(now), ttl],
        'hold a scheduled request',
      );
      // Already held: complete the entry only if an earlier attempt died between the two writes.
      const existing = claimed.wasApplied() ? null : (claimed.rows[0] as Row);
      const target = existing
        ? {
            minute: date(existing, 'minute') as Date,
            shard: existing.get('shard') as number,
            dueAt: date(existing, 'due_at') as Date,
          }
        : { minute, shard, dueAt };
      await execute(
        client,
        'INSERT INTO schedule (minute, shard, due_at, request_id, record, sender_id, state, attempts) ' +
          "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0) IF NOT EXISTS USING TTL ?",
        [target.minute, target.shard, target.dueAt, entry.requestId, entry.record, entry.senderId ?? null, ttl],
        'hold a scheduled request',
      );
      return existing === null;
    },

    /** Finds due rows and claims them; returns the rows this owner won (at most `limit`). */
    async claimDue(now: number | Date, owner: string, claimOptions: { limit?: number; leaseMs?: number } = {}) {
      const at = now instanceof Date ? now.getTime() : now;
      const rows = await dueRows(at, claimOptions.limit ?? 500);
      const leaseUntil = at + (claimOptions.leaseMs ?? 30_000);
      const won = await mapLimit(rows, 16, async (row) => ((await claim(row, owner, leaseUntil)) ? row : null));
      return won.filter((row): row is ScheduledRow => row !== null);
    },

    /** Marks a claimed row re-injected; false when this owner no longer holds it. */
    async complete(row: ScheduledRow, owner: string): Promise<boolean> {
      const result = await setState(
        row,
        "state = 'done', done_at = ?",
        [new Date()],
        "state = 'claimed' AND owner = ?",
        [owner],
        'complete a scheduled request',
      );
      return result.wasApplied() || (result.rows[0]?.get('state') === 'done' && result.rows[0]?.get('owner') === owner);
    },

    /** Gives a claimed row back (re-injecting failed) so the next tick retries it at once. */
    async release(row: ScheduledRow, owner: string): Promise<boolean> {
      const result = await setState(
        row,
        "state = 'pending', owner = null, lease_until = null",
        [],
        "state = 'claimed' AND owner = ?",
        [owner],
        'release a scheduled request',
      );
      return result.wasApplied();
    },

    /** Cancels a pending request; the LWT orders it against claims, so the outcome is final. */
    async cancelScheduled(requestId: string, by: string, at = new Date()): Promise<CancelOutcome> {
      const index = await readIndex(requestId);
      if (index === null) return 'not_found';
      const result = await setState(
        { ...index, requestId },
        "state = 'cancelled', cancelled_by = ?, cancelled_at = ?",
        [by, at],
        "state = 'pending'",
        [],
        'cancel a scheduled request',
      );
      if (result.wasApplied()) return 'cancelled';
      const state = result.rows[0]?.get('state') as ScheduleState | null | undefined;
      if (state === 'cancelled') return 'already_cancelled';
      return state === 'claimed' || state === 'done' ? 'too_late' : 'not_found';
    },

    /** A scheduled request's whereabouts and state, for the API (who may cancel) and support. */
    async getScheduled(requestId: string): Promise<ScheduledInfo | null> {
      const index = await readIndex(requestId);
      if (index === null) return null;
      const result = await execute(
        client,
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
    },
  };

  async function readIndex(requestId: string) {
    const result = await execute(
      client,
      'SELECT minute, shard, due_at, sender_id, scheduled_at FROM schedule_by_request WHERE request_id = ?',
      [requestId],
      'read a scheduled request',
    );
    const row = result.rows[0];
    if (!row) return null;
    return {
      minute: date(row, 'minute') as Date,
      shard: row.get('shard') as number,
      dueAt: date(row, 'due_at') as Date,
      senderId: text(row, 'sender_id'),
      scheduledAt: date(row, 'scheduled_at'),
    };
  }
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
