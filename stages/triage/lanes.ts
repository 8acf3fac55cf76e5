/**
 * Capacity reserved per lane. Each lane has its own consumer group (one stage declaration per lane), so a
 * backlog in lane 1 never sits in front of lane 4 in a fetch. What the lanes still share inside one process
 * is the event loop, the Cassandra connection pool and the producer; this module keeps the low lanes from
 * crowding those out:
 * - low lanes work through their batch in small slices with few Cassandra writes in flight;
 * - before each slice they give way to urgent work (the runtime's `giveWay`, pipeline/runtime/urgency-gate.ts):
 *   while an urgency-4 batch is being handled in this process, low-lane slices wait, a bounded time so a
 *   stream of urgent work cannot stall a low lane's consumer past its session timeout.
 */

export interface LaneBudget {
  /** Records processed per slice before giving way to urgent work again. */
  slice: number;
  /** Cassandra writes in flight at once for this lane's batch. */
  concurrency: number;
  /** Whether this lane's work never gives way (the runtime makes the other lanes wait for it). */
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
