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
}

export interface Pacer {
  /** Waits the current pause, if any, before the next request. Rejects with the signal's reason on abort. */
  before(signal?: AbortSignal): Promise<void>;
  /** Reports how long the last request took. */
  after(latencyMs: number): void;
  /** The pause the next request waits. */
  readonly pauseMs: number;
  /** All pauses waited so far, in milliseconds. */
  readonly pausedMs: number;
}

export function createPacer(options: PacerOptions): Pacer {
  if (!(options.tolerance > 1)) throw new RangeError('tolerance must be above 1');
  const windowMs = options.windowMs ?? 30_000;
  const slackMs = options.slackMs ?? 2;
  const clock = options.clock ?? Date.now;
  // Two half-window minima: the base is the lesser, and the older one is dropped every half window.
  let older = Number.POSITIVE_INFINITY;
  let newer = Number.POSITIVE_INFINITY;
  let newerSince = clock();
  let pauseMs = 0;
  let pausedMs = 0;

  const base = () => Math.min(older, newer);

  return {
    get pauseMs() {
      return pauseMs;
    },
    get pausedMs() {
      return pausedMs;
    },
    after(latencyMs) {
      if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
      const now = clock();
      if (now - newerSince >= windowMs / 2) {
        older = newer;
        newer = Number.POSITIVE_INFINITY;
        newerSince = now;
      }
      newer = Math.min(newer, latencyMs);
      const floor = base();
      const contended = latencyMs > floor * options.tolerance && latencyMs - floor > slackMs;
      if (contended) pauseMs = Math.min(options.maxPauseMs, Math.max(pauseMs * 2, floor, 1));
      else pauseMs = pauseMs / 2 < 1 ? 0 : pauseMs / 2;
    },
    async before(signal) {
      signal?.throwIfAborted();
      if (pauseMs === 0) return;
      const wait = pauseMs;
      await pause(wait, signal);
      pausedMs += wait;
    },
  };
}
