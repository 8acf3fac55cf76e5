/**
 * The machine's own speed, timed before and after every bench run, so a figure measured while the machine
 * itself was slow says so.
 *
 * Why: these benches run on shared virtual machines whose CPU speed changes under them, and /proc/stat does
 * not always show it as steal time. On 2026-11-30 the same loop took 172 ms at 19:56 and 505–618 ms at
 * 20:20 on one idle 2-core machine, steal time near zero throughout; the benches of that hour gave figures
 * two to three times worse than the same commit had given elsewhere (bare Hono 7,754 req/s instead of
 * 22,675; flow's 2,000-user p99 162–430 ms instead of 24–30). A ratio against a raw baseline of the same
 * run cancels some of that, not all: a slow machine stretches queueing, and queueing is what a p99 measures.
 *
 * The workload is a fixed integer loop: no allocation, no system call, no I/O, so it measures the CPU the
 * process is given and nothing else. The figure is millions of loop iterations a second, the median of a
 * few short rounds (the first rounds also warm the JIT).
 */

export interface CpuSpeed {
  /** Millions of loop iterations a second. */
  mips: number;
}

const speedPrefix = 'BENCH-SPEED ';
let sink = 0;

function loopRate(iterations: number): number {
  const started = performance.now();
  let acc = sink;
  for (let i = 0; i < iterations; i++) acc = (acc + (i ^ (acc >>> 3))) | 0;
  sink = acc;
  return iterations / (performance.now() - started) / 1000;
}

/** About 50–150 ms of one core, depending on the machine. */
export function measureCpuSpeed(rounds = 7, iterations = 4_000_000): CpuSpeed {
  const rates = Array.from({ length: rounds }, () => loopRate(iterations)).sort((a, b) => a - b);
  return { mips: rates[Math.floor(rates.length / 2)]! };
}

export type SpeedPhase = 'before' | 'after';

/** Prints the speed for a reader and, for `bench all`, as a machine-readable line. */
export function reportCpuSpeed(phase: SpeedPhase, speed: CpuSpeed = measureCpuSpeed()): void {
  console.log(
    `machine speed ${phase} the run: ${speed.mips.toFixed(0)} M loop iterations/s (bench/harness/cpu-speed.ts)`,
  );
  console.log(`${speedPrefix}${JSON.stringify({ phase, mips: speed.mips })}`);
}

export interface RunSpeed {
  bench: string;
  round: number;
  before?: number;
  after?: number;
}

export function parseCpuSpeeds(output: string): Pick<RunSpeed, 'before' | 'after'> {
  const speeds: Pick<RunSpeed, 'before' | 'after'> = {};
  for (const line of output.split('\n')) {
    if (!line.startsWith(speedPrefix)) continue;
    const { phase, mips } = JSON.parse(line.slice(speedPrefix.length)) as { phase: SpeedPhase; mips: number };
    speeds[phase] = mips;
  }
  return speeds;
}

/** A run whose slower end was below this share of the session's fastest reading ran on a slowed machine. */
export const slowedBelow = 0.75;

/** RESULTS.md's section on the machine's speed: every run's readings against the fastest of the session. */
export function speedMarkdown(runs: RunSpeed[]): string[] {
  const readings = runs.flatMap((run) => [run.before, run.after]).filter((v): v is number => v !== undefined);
  if (readings.length === 0) return [];
  const fastest = Math.max(...readings);
  const share = (value: number | undefined) => (value === undefined ? '—' : `${(value / fastest).toFixed(2)}`);
  const slowed = runs.filter((run) => {
    const slower = Math.min(run.before ?? fastest, run.after ?? fastest);
    return slower < fastest * slowedBelow;
  });
  const lines = [
    '',
    `**The machine during each run.** A fixed CPU loop timed before and after each run (\`bench/harness/cpu-speed.ts\`), as a share of the fastest`,
    `reading of this session (${fastest.toFixed(0)} M loop iterations/s). A run below ${slowedBelow} at either end ran`,
    'on a slowed machine: its figures count (the goals hold at the worst run), but they say more about the machine.',
    '',
    slowed.length === 0
      ? 'No run was slowed.'
      : `Slowed: ${slowed.map((run) => `${run.bench} run ${run.round}`).join(', ')}.`,
    '',
    '| bench | run | before | after |',
    '| --- | ---: | ---: | ---: |',
    ...runs.map((run) => `| ${run.bench} | ${run.round} | ${share(run.before)} | ${share(run.after)} |`),
  ];
  return lines;
}
