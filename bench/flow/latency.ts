import { describeCpuPhase, startCpuPhase } from '../harness/cpu-shares.ts';
import { describeGcPauses, startGcPhase } from '../harness/gc-pauses.ts';

/** The flow bench's latency phases: traffic at a fixed rate, each message timed from its send to its arrival. */

export interface Latencies {
  p50: number;
  p99: number;
  max: number;
  samples: number;
  lost: number;
  /** p99 in each `timelineSeconds` of the phase, by when the message was sent: is the tail spread or a burst? */
  timeline: { fromSeconds: number; p99: number; samples: number }[];
}

const timelineSeconds = 10;

export function line(label: string, latencies: Latencies): void {
  const ms = (value: number) => `${value.toFixed(1)} ms`.padStart(9);
  console.log(
    `  ${label.padEnd(46)} p50 ${ms(latencies.p50)}  p99 ${ms(latencies.p99)}  max ${ms(latencies.max)}  ` +
      `(${latencies.samples} samples${latencies.lost ? `, ${latencies.lost} NOT RECEIVED` : ''})`,
  );
}

/** The q-quantile (0–1) of latencies: the smallest value with at least q of them at or below it. */
export function quantile(latencies: number[], q: number): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** `sentAtSeconds[i]`: when latency i's message was sent, from the phase's start (for the timeline). */
export function summarise(latencies: number[], lost: number, sentAtSeconds: number[] = []): Latencies {
  const windows = new Map<number, number[]>();
  latencies.forEach((latency, i) => {
    const from = Math.floor((sentAtSeconds[i] ?? 0) / timelineSeconds) * timelineSeconds;
    const window = windows.get(from);
    if (window) window.push(latency);
    else windows.set(from, [latency]);
  });
  const timeline = [...windows]
    .sort(([a], [b]) => a - b)
    .map(([fromSeconds, window]) => ({ fromSeconds, p99: quantile(window, 0.99), samples: window.length }));
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.length > 0 ? Math.max(...latencies) : Number.NaN,
    samples: latencies.length,
    lost,
    timeline,
  };
}

/** `0–10 s 35.1 ms · 10–20 s 21.0 ms · …`: where in the phase its slow messages were sent. */
export function timelineOf(latencies: Latencies): string {
  return latencies.timeline
    .map(({ fromSeconds, p99 }) => `${fromSeconds}–${fromSeconds + timelineSeconds} s ${p99.toFixed(1)}`)
    .join(' · ');
}

/**
 * Runs a latency phase and prints its line, and under it where the machine's CPU went and the servers' GC
 * pauses during it: the raw baseline's phases too, since raw crosses the same broker on the same machine.
 */
export async function measuredPhase(label: string, phase: () => Promise<Latencies>): Promise<Latencies> {
  const cpu = startCpuPhase();
  const gc = startGcPhase();
  const measured = await phase();
  const used = cpu();
  line(label, measured);
  console.log(describeCpuPhase(used, '    '));
  console.log(describeGcPauses(gc(), used.seconds, '    '));
  return measured;
}

/** When each message was handed to the producer, on the clock Kafka's record timestamps use. */
export const sentAtWall = new Map<string, number>();

/**
 * Fires `make(n).send` every 1000/rate ms for warmup + seconds (or until `until` resolves), without waiting for
 * acknowledgements, and measures send → arrival (arrivals: text → performance.now()). Warm-up samples are dropped.
 */
export async function paced(
  rate: number,
  seconds: number,
  warmup: number,
  make: (n: number) => { msg: string; send: () => Promise<unknown> },
  arrivals: Map<string, number>,
  until?: Promise<unknown>,
): Promise<Latencies> {
  const sent: { msg: string; at: number; counted: boolean }[] = [];
  const failures: unknown[] = [];
  const started = performance.now();
  let stop = false;
  void until?.then(() => {
    stop = true;
  });
  for (let n = 0; ; n++) {
    const due = started + (n * 1000) / rate;
    if (until ? stop : due - started >= (warmup + seconds) * 1000) break;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const { msg, send } = make(n);
    sent.push({ msg, at: performance.now(), counted: due - started >= warmup * 1000 });
    sentAtWall.set(msg, Date.now());
    send().catch((error: unknown) => failures.push(error));
  }
  if (failures.length > 0) throw new Error(`${failures.length} sends failed: ${String(failures[0])}`);
  const deadline = Date.now() + 30_000;
  while (sent.some((entry) => !arrivals.has(entry.msg)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const counted = sent.filter((entry) => entry.counted);
  const arrived = counted.filter((e) => arrivals.has(e.msg));
  const latencies = arrived.map((e) => arrivals.get(e.msg)! - e.at);
  return summarise(
    latencies,
    counted.length - latencies.length,
    arrived.map((e) => (e.at - started) / 1000),
  );
}
