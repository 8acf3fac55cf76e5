import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Reach } from './broadcast.ts';

/** Timing and memory of one broadcast, and how the best of several runs is kept. */

export interface Memory {
  startRss: number;
  peakRss: number;
  peakHeap: number;
}

export interface Mode {
  perSecond: number;
  seconds: number;
  deliveries: number;
  calls: number;
  flushes: number;
  startRss: number;
  peakRss: number;
  peakHeap: number;
}

export const empty = (): Mode => ({
  perSecond: 0,
  seconds: 0,
  deliveries: 0,
  calls: 0,
  flushes: 0,
  startRss: 0,
  peakRss: 0,
  peakHeap: 0,
});
/** The fastest run's rate, the highest peaks seen in any run. */
export const better = (a: Mode, b: Mode): Mode => ({
  ...(b.perSecond > a.perSecond ? b : a),
  peakRss: Math.max(a.peakRss, b.peakRss),
  startRss: a.peakRss > b.peakRss ? a.startRss : b.startRss,
  peakHeap: Math.max(a.peakHeap, b.peakHeap),
});

const gc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * Times one broadcast and samples memory. With `live`, each sample runs a full GC first, so the heap
 * figure is what the broadcast really holds at that moment rather than garbage not yet collected; that
 * slows the run, so only the memory probes use it.
 */
export async function measure(users: number, broadcast: () => Promise<Reach>, live = false): Promise<Mode> {
  gc();
  const startRss = process.memoryUsage.rss();
  let peakRss = startRss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (live) gc();
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  const sampler = setInterval(sample, live ? 100 : 20);
  const started = performance.now();
  let reach: Reach;
  try {
    reach = await broadcast();
    sample();
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  if (reach.recipients !== users) throw new Error(`the broadcast reached ${reach.recipients} users, expected ${users}`);
  return {
    perSecond: reach.recipients / seconds,
    seconds,
    deliveries: reach.deliveries,
    calls: reach.calls,
    flushes: reach.flushes,
    startRss,
    peakRss,
    peakHeap,
  };
}
