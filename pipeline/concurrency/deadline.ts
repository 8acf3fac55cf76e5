/**
 * A deadline for a call that usually answers long before it: the HTTP facade gives every call into Kafka, the
 * registry and Cassandra one (13 s by default), three per publish. A timer and a `Promise.race` each cost about
 * 1 µs a call (`setTimeout`, its clearing, the race's promises), 4 % of a publish's CPU on the 2-core machine;
 * here the calls waiting share one sweep instead.
 *
 * The sweep runs every `resolutionMs` while anything waits, so a deadline fires up to that late: fine for
 * deadlines of seconds, wrong for short ones (use a timer there).
 */

interface Waiter {
  at: number;
  expire: () => void;
}

export interface Deadlines {
  /** Settles as `work` does, or rejects with `onExpiry()` once `ms` passed first. */
  within<T>(work: Promise<T>, ms: number, onExpiry: () => unknown): Promise<T>;
  /** Calls waiting now (for tests). */
  readonly waiting: number;
}

export function createDeadlines(options: { resolutionMs?: number; now?: () => number } = {}): Deadlines {
  const resolutionMs = options.resolutionMs ?? 100;
  // Date.now: what fake timers in tests move too.
  const now = options.now ?? Date.now;
  const waiters = new Set<Waiter>();
  let sweeper: NodeJS.Timeout | undefined;

  const sweep = () => {
    const at = now();
    for (const waiter of waiters) {
      if (waiter.at > at) continue;
      waiters.delete(waiter);
      waiter.expire();
    }
    if (waiters.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  return {
    within(work, ms, onExpiry) {
      return new Promise((resolve, reject) => {
        const waiter: Waiter = { at: now() + ms, expire: () => reject(onExpiry()) };
        waiters.add(waiter);
        // Never keeps the process alive by itself: what it waits on does, if anything.
        sweeper ??= setInterval(sweep, resolutionMs).unref();
        work.then(
          (value) => {
            waiters.delete(waiter);
            resolve(value);
          },
          (error: unknown) => {
            waiters.delete(waiter);
            reject(error);
          },
        );
      });
    },
    get waiting() {
      return waiters.size;
    },
  };
}
