import { pause } from './index.ts';

/**
 * Background work that shares a server with urgent work backs off when the server's answers slow down.
 *
 * A broadcast's audience walk asks the search engine for page after page. The same engine answers an
 * urgent message's lookup, and on a small deployment the same machines run everything downstream of the
 * broadcast too. Left alone, the walk takes all the CPU it can get. An urgent message then waits for CPU at
 * every hop.
 *
 * The pacer watches how long each request of the walk takes, against the least it took lately (the base:
 * the server with nothing else to do). A request slower than the base by more than `tolerance` means
 * something else wants the same CPU, so the walk pauses before its next request: first as long as a request
 * takes, doubling while requests stay slow, halving once they are fast again. On an idle system it never
 * pauses. This is the idea of LEDBAT (RFC 6817, "low extra delay background transport"): yield to
 * foreground traffic by reading the queueing delay, not by a fixed rate that would be wrong on every other
 * machine.
 *
 * A page can come back in its usual time while the machine is saturated by what the broadcast set off
 * downstream, so a caller may give a second sign (`busy`, the kernel's CPU pressure for the bulk lane) that
 * counts as a slow answer.
 *
 * Walks running side by side (a broadcast's slices) share one pacer, and with it a window of requests in
 * flight, as TCP's congestion window does for one connection: it starts at one, grows by one with each answer
 * in the usual time while the window is what holds requests back, and halves on a slow one. Without it, every
 * walk's first request left at once when a broadcast started, and an urgent lookup waited behind all of them.
 */

export interface PacerOptions {
  /** A request slower than base × tolerance is a sign of contention. Must be above 1. */
  tolerance: number;
  /** The longest pause between two requests. */
  maxPauseMs: number;
  /** The base is the least latency seen over about this long: older minima are forgotten. */
  windowMs?: number;
  /** Latencies this close to the base are never contention, whatever the ratio: timer and network jitter. */
  slackMs?: number;
  clock?: () => number;
  /**
   * With nothing in flight for this long, the window starts again from one request (TCP restarts its window
   * after idle, RFC 7661): the next broadcast starts slowly too, not only the process's first. Default 2 s.
   */
  idleRestartMs?: number;
  /**
   * A second sign of contention, asked with each answer: true means slow down even though the answer came
   * in its usual time (the machine's CPU pressure, `cpu-pressure.ts`).
   */
  busy?: () => boolean;
}

export interface PacedCall {
  signal?: AbortSignal | undefined;
  /** false: the call holds a place in the window, but its latency says nothing of contention (opening a PIT). */
  measured?: boolean;
}

export interface Pacer {
  /**
   * Makes one request of the paced work: waits the current pause and a place in the window, then calls, and
   * reports how long the answer took. Rejects with the signal's reason on abort, or with the call's error.
   */
  run<T>(call: () => Promise<T>, options?: PacedCall): Promise<T>;
  /** Reports how long a request took (`run` does it for the requests it makes). */
  after(latencyMs: number): void;
  /** The pause the next request waits. */
  readonly pauseMs: number;
  /** All pauses waited so far, in milliseconds. */
  readonly pausedMs: number;
  /** Requests allowed in flight at once now: the window. */
  readonly inFlightLimit: number;
}

export function createPacer(options: PacerOptions): Pacer {
  if (!(options.tolerance > 1)) throw new RangeError('tolerance must be above 1');
  const windowMs = options.windowMs ?? 30_000;
  const slackMs = options.slackMs ?? 2;
  const clock = options.clock ?? Date.now;
  const idleRestartMs = options.idleRestartMs ?? 2_000;
  // Two half-window minima: the base is the lesser, and the older one is dropped every half window.
  let older = Number.POSITIVE_INFINITY;
  let newer = Number.POSITIVE_INFINITY;
  let newerSince = clock();
  let pauseMs = 0;
  let pausedMs = 0;
  let limit = 1;
  let inFlight = 0;
  let idleSince = clock();
  const waiting: (() => void)[] = [];

  const base = () => Math.min(older, newer);

  /** Lets waiting calls in, oldest first, while the window has room (after an answer, or when it grew). */
  const release = () => {
    while (waiting.length > 0 && inFlight < limit) waiting.shift()!();
  };

  /** A place in the window, taken at once when there is room and nobody waits ahead. */
  const place = (signal: AbortSignal | undefined) => {
    signal?.throwIfAborted();
    if (inFlight === 0 && clock() - idleSince >= idleRestartMs) limit = 1;
    if (inFlight < limit && waiting.length === 0) {
      inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const granted = () => {
        signal?.removeEventListener('abort', aborted);
        inFlight++;
        resolve();
      };
      const aborted = () => {
        waiting.splice(waiting.indexOf(granted), 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', aborted, { once: true });
      waiting.push(granted);
    });
  };

  /** Waits the current pause, if any. Rejects with the signal's reason on abort. */
  const before = async (signal: AbortSignal | undefined) => {
    signal?.throwIfAborted();
    if (pauseMs === 0) return;
    const wait = pauseMs;
    await pause(wait, signal);
    pausedMs += wait;
  };

  const after = (latencyMs: number) => {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    const now = clock();
    if (now - newerSince >= windowMs / 2) {
      older = newer;
      newer = Number.POSITIVE_INFINITY;
      newerSince = now;
    }
    newer = Math.min(newer, latencyMs);
    const floor = base();
    const slow = latencyMs > floor * options.tolerance && latencyMs - floor > slackMs;
    const contended = slow || options.busy?.() === true;
    if (contended) {
      pauseMs = Math.min(options.maxPauseMs, Math.max(pauseMs * 2, floor, 1));
      limit = Math.max(1, Math.floor(limit / 2));
    } else {
      pauseMs = pauseMs / 2 < 1 ? 0 : pauseMs / 2;
      // Grows only while the window is what holds requests back: idle room says nothing of what the server takes.
      if (inFlight >= limit || waiting.length > 0) limit++;
      release();
    }
  };

  return {
    get pauseMs() {
      return pauseMs;
    },
    get pausedMs() {
      return pausedMs;
    },
    get inFlightLimit() {
      return limit;
    },
    after,
    async run(call, { signal, measured = true } = {}) {
      await before(signal);
      await place(signal);
      const asked = performance.now();
      try {
        const result = await call();
        if (measured) after(performance.now() - asked);
        return result;
      } finally {
        inFlight--;
        if (inFlight === 0) idleSince = clock();
        release();
      }
    },
  };
}
