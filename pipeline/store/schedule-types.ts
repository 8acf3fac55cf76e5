/** The schedule's partitions per minute (see 004_schedule.cql); a constant of the schema. */
export const SCHEDULE_SHARDS = 8;

export type ScheduleState = 'pending' | 'claimed' | 'done' | 'cancelled';

export interface ScheduleEntry {
  requestId: string;
  /** When to re-inject (epoch ms or Date); a time in the past means "at the next tick". */
  dueAt: number | Date;
  /** What the scheduler re-injects, encoded by the caller. */
  record: Buffer;
  /** Who may cancel it besides an admin. */
  senderId?: string | null;
}

/** A schedule row as a scheduler sees it; pass it back unchanged to claim/complete/release. */
export interface ScheduledRow {
  requestId: string;
  dueAt: Date;
  minute: Date;
  shard: number;
  record: Buffer;
  senderId: string | null;
  state: ScheduleState;
  owner: string | null;
  leaseUntil: Date | null;
  attempts: number;
}

export interface ScheduledInfo {
  requestId: string;
  dueAt: Date;
  senderId: string | null;
  scheduledAt: Date | null;
  /** null when the index row exists but the schedule row does not (yet). */
  state: ScheduleState | null;
  cancelledBy: string | null;
}

/**
 * cancelled: it will never be re-injected. too_late: a scheduler already claimed or re-injected it.
 * already_cancelled: someone cancelled it before. not_found: no such scheduled request.
 */
export type CancelOutcome = 'cancelled' | 'already_cancelled' | 'too_late' | 'not_found';

export const MINUTE_MS = 60_000;

export const floorMinute = (at: number): Date => new Date(Math.floor(at / MINUTE_MS) * MINUTE_MS);
