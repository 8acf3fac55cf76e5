import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Capacity reserved per lane. Each lane has its own consumer group (one stage declaration per lane), so a
 * backlog in lane 1 never sits in front of lane 4 in a fetch. What the lanes still share inside one process
 * is the event loop, the Cassandra connection pool and the producer; this module keeps the low lanes from
 * crowding those out:
 * - low lanes work through their batch in small slices with few Cassandra writes in flight;
 * - before each slice they yield to urgent work: while an urgency-4 batch is being triaged in this process,
 *   low-lane slices wait (up to `maxYieldMs`, so a stream of urgent work cannot stall a low lane's
 *   consumer past its session timeout).
 */

export interface LaneBudget {
  /** Records processed per slice before yielding to urgent work again. */
  slice: number;
  /** Cassandra writes in flight at once for this lane's batch. */
  concurrency: number;
  /** Whether this lane's work makes the other lanes wait. */
  urgent: boolean;
}

export const laneBudgets: Readonly<Record<1 | 2 | 3 | 4, LaneBudget>> = {
  4: { slice: Number.POSITIVE_INFINITY, concurrency: 64, urgent: true },
  3: { slice: 200, concurrency: 16, urgent: false },
  2: { slice: 100, concurrency: 8, urgent: false },
  1: { slice: 100, concurrency: 4, urgent: false },
};

export function budgetOf(urgency: number): LaneBudget {
  return laneBudgets[Math.min(4, Math.max(1, urgency)) as 1 | 2 | 3 | 4];
}

export interface LaneGate {
  /** Marks urgent work as in flight; call the returned function when it is done. */
  beginUrgent(): () => void;
  /** Resolves once no urgent work is in flight, or after `maxYieldMs`. */
  yieldToUrgent(): Promise<void>;
  readonly urgentInFlight: number;
}

export function createLaneGate(options: { maxYieldMs?: number; pollMs?: number } = {}): LaneGate {
  const maxYieldMs = options.maxYieldMs ?? 1_000;
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  return {
    beginUrgent() {
      inFlight++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        inFlight--;
        if (inFlight === 0) {
          const release = waiters;
          waiters = [];
          for (const wake of release) wake();
        }
      };
    },
    async yieldToUrgent() {
      if (inFlight === 0) return;
      const cleared = new Promise<void>((resolve) => waiters.push(resolve));
      const timeout = new AbortController();
      await Promise.race([cleared, sleep(maxYieldMs, undefined, { signal: timeout.signal }).catch(() => undefined)]);
      timeout.abort();
    },
    get urgentInFlight() {
      return inFlight;
    },
  };
}

/** The gate shared by the triage lanes of this process. */
export const processLaneGate: LaneGate = createLaneGate();
