import { mapLimit } from '../../pipeline/concurrency/index.ts';
import type { RecordSink } from '../../pipeline/kafka/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { prioritized, requestEvent } from '../../pipeline/records/events.ts';
import type { OutputRecord } from '../../pipeline/runtime/types.ts';
import type { DueRow, HeldRequest, ScheduleClaims } from '../../pipeline/schedule/types.ts';
import { SCHEDULER_SOURCE } from '../../pipeline/schedule/types.ts';
import { laneKey, laneTopic } from '../../pipeline/topics/lanes.ts';
import type { SchedulerMetrics } from './metrics.ts';

/**
 * The scheduler: every tick it finds the held requests that are due, claims each with an LWT (so with several
 * scheduler instances exactly one wins a row), re-injects the winners straight into their lane, and marks
 * them done.
 *
 * Straight into the lane rather than back into `ingest`: prioritize already validated the request and marked
 * its id seen, so a trip through `ingest` would be dropped as a repeat (its origin differs), and it would
 * cost a second validation for nothing. The lane record says `scheduled: true`.
 *
 * A claim is a lease: an instance that dies after claiming and before marking done leaves a claim that
 * expires, and another instance re-claims the row. Re-injecting such a row twice is harmless downstream (the
 * message id derives from the request id); without failures each due row is re-injected exactly once.
 */

export interface LoopOptions<R extends DueRow> {
  claims: ScheduleClaims<R>;
  sink: RecordSink;
  owner: string;
  log: Logger;
  now?: () => number;
  intervalMs?: number;
  leaseMs?: number;
  /** Most rows handled per tick; a full tick is followed at once by the next. */
  batchLimit?: number;
  concurrency?: number;
  metrics?: SchedulerMetrics;
}

export interface TickReport {
  due: number;
  claimed: number;
  injected: number;
  expired: number;
}

export interface SchedulerLoop {
  tick(): Promise<TickReport>;
  start(): void;
  /** Stops ticking and waits for a running tick to finish. */
  stop(): Promise<void>;
}

/** The lane record, or the expired event when its time ran out while it was held. */
export function reinjection(held: HeldRequest, now: number): OutputRecord {
  const { request } = held;
  if (held.expiresAt !== null && held.expiresAt <= now) {
    const event = requestEvent(request, 'expired', now, SCHEDULER_SOURCE, {
      reason: 'EXPIRED',
      urgency: held.urgency,
      detail: 'expired while scheduled',
    });
    return { topic: 'events', key: request.requestId, value: event };
  }
  return {
    topic: laneTopic(held.urgency),
    key: laneKey(request),
    value: prioritized(request, held.urgency, held.expiresAt, now, true),
  };
}

export function createSchedulerLoop<R extends DueRow>(options: LoopOptions<R>): SchedulerLoop {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 30_000;
  const limit = options.batchLimit ?? 500;
  const concurrency = options.concurrency ?? 16;
  const { claims, sink, owner, log } = options;

  const tick = async (): Promise<TickReport> => {
    const at = now();
    const due = await claims.due(at, limit);
    const won = (
      await mapLimit(due, concurrency, async (row) => ((await claims.claim(row, owner, at + leaseMs)) ? row : null))
    ).filter((row): row is Awaited<R> => row !== null);
    if (won.length === 0) return { due: due.length, claimed: 0, injected: 0, expired: 0 };
    const records = won.map((row) => reinjection(row.held, now()));
    try {
      await sink.send(records);
    } catch (error) {
      // Best effort: a row not released is retried anyway once its lease ends.
      if (claims.release) await Promise.allSettled(won.map((row) => claims.release?.(row, owner)));
      throw error;
    }
    await mapLimit(won, concurrency, (row) => claims.complete(row, owner));
    const expired = records.filter((record) => record.topic === 'events').length;
    return { due: due.length, claimed: won.length, injected: won.length - expired, expired };
  };

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const loop = () => {
    running = (async () => {
      let delay = intervalMs;
      const stopTimer = options.metrics?.tickDuration.startTimer();
      try {
        const report = await tick();
        stopTimer?.();
        options.metrics?.rows.inc({ outcome: 'lost' }, report.due - report.claimed);
        options.metrics?.rows.inc({ outcome: 'injected' }, report.injected);
        options.metrics?.rows.inc({ outcome: 'expired' }, report.expired);
        if (report.claimed > 0) log.info({ ...report, owner }, 're-injected due scheduled requests');
        // A full tick means more is due: go again at once rather than fall behind by a tick per batch.
        if (report.due >= limit) delay = 0;
      } catch (error) {
        options.metrics?.tickErrors.inc();
        log.error({ err: error, owner }, 'scheduler tick failed; claimed rows are retried when their lease ends');
      }
      if (!stopped) timer = setTimeout(loop, delay);
    })();
  };

  return {
    tick,
    start() {
      if (!stopped) return;
      stopped = false;
      loop();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
