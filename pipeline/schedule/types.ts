import type { IngestRequest } from '../../schemas/types.generated.ts';

/**
 * The schedule as prioritize, the scheduler and the facade's cancel route share it: prioritize holds a
 * request until it is due, the scheduler re-injects it, the facade may cancel it before.
 */

/** The name scheduled-request events carry as their source. */
export const SCHEDULER_SOURCE = 'scheduler';

/** A request held until it is due; the scheduler re-injects it into its lane. */
export interface HeldRequest {
  request: IngestRequest;
  dueAt: number;
  urgency: number;
  expiresAt: number | null;
}

export interface ScheduleWriter {
  /** Stores the held request unless an entry for its request id exists (never revives a fired or cancelled one). */
  hold(entry: HeldRequest): Promise<void>;
}

export interface DueRow {
  requestId: string;
  dueAt: number;
  held: HeldRequest;
}

/** What the scheduler loop needs from the schedule store. */
export interface ScheduleClaims<R extends DueRow = DueRow> {
  /** Rows due by `now` that are pending or whose claim lease has run out, oldest first, at most `limit`. */
  due(now: number, limit: number): Promise<R[]>;
  /** LWT: true when this owner now holds the row (until `leaseUntil`), false when another got it first. */
  claim(row: R, owner: string, leaseUntil: number): Promise<boolean>;
  /** Marks a claimed row fired, so it is never due again. */
  complete(row: R, owner: string): Promise<unknown>;
  /** Gives a claimed row back after re-injecting failed, so the next tick retries it without waiting for the lease. */
  release?(row: R, owner: string): Promise<unknown>;
}
