import { type CpuPhase, startCpuPhase } from './cpu-shares.ts';

/** All the JVMs' compiler threads together below 3 % of a core over a window: about what they use warm. */
export const settledJit = 0.03;

export interface WarmServersOptions {
  maxSeconds: number;
  /** Settled: all the JVMs' compiler threads together used less than this many cores over one window. */
  settledJitCores: number;
  /** Each window of rounds lasts at least this long. Default 5 s. */
  windowSeconds?: number;
  /** At least this many windows, whatever the first one measured (its first seconds can be idle). Default 2. */
  minWindows?: number;
  measure?: () => () => CpuPhase;
  /** Told the seconds so far and the last window's compiler threads, in cores, busiest first (progress). */
  onWindow?: (seconds: number, jit: ServerWarmup['lastWindowJit']) => void;
}

export interface ServerWarmup {
  seconds: number;
  rounds: number;
  settled: boolean;
  /** Each JVM's compiler threads over the last window, in cores, busiest first. */
  lastWindowJit: { name: string; cores: number }[];
}

/**
 * Brings freshly started servers to the state a deployment's servers are in: their hot paths compiled.
 *
 * A JVM interprets a method until it has run often enough, then compiles it, twice (C1, then C2 with the
 * profile C1 gathered). On the 2-core machine a server that has just started spends a large share of a core
 * compiling the paths a new kind of traffic takes (OpenSearch 11 % of a core through a stack's first 1M-user
 * broadcast, 2026-12-01), and its requests run slower until it is done. The first broadcast after a stack
 * starts then showed an urgent p99 of 62–122 ms in its first 20 s, against 20–35 ms for the rest of it and
 * for every later broadcast; the first unicast traffic gave p99 − raw of +74 ms against +15–20.
 *
 * `round` does one round of the traffic the bench will measure. Rounds repeat, in windows of at least
 * `windowSeconds` (a short window reads the 100 Hz tick counters too coarsely to tell 0 from 3 %), until the
 * servers' compiler threads together used less than `settledJitCores` of a core over a window, or `maxSeconds`
 * have passed. The result says which, so a bench never reports a cold server as warm without saying so.
 */
export async function warmServers(
  round: (n: number) => Promise<void>,
  {
    maxSeconds,
    settledJitCores,
    windowSeconds = 5,
    minWindows = 2,
    measure = startCpuPhase,
    onWindow,
  }: WarmServersOptions,
): Promise<ServerWarmup> {
  const started = performance.now();
  let rounds = 0;
  for (let window = 0; ; window++) {
    const end = measure();
    const windowStarted = performance.now();
    do await round(rounds++);
    while (performance.now() - windowStarted < windowSeconds * 1000);
    const lastWindowJit = jitOf(end());
    const seconds = (performance.now() - started) / 1000;
    onWindow?.(seconds, lastWindowJit);
    const jitCores = lastWindowJit.reduce((sum, server) => sum + server.cores, 0);
    const settled = window + 1 >= minWindows && jitCores < settledJitCores;
    if (settled || seconds >= maxSeconds) return { seconds, rounds, settled, lastWindowJit };
  }
}

function jitOf(phase: CpuPhase): ServerWarmup['lastWindowJit'] {
  return phase.shares
    .filter((share) => share.jitCores !== undefined)
    .map((share) => ({ name: share.name, cores: share.jitCores! }))
    .sort((a, b) => b.cores - a.cores);
}

/** `servers warmed in 34 s (7 rounds); JIT compiling over the last 5 s: opensearch 2 %, kafka 1 %` */
export function describeWarmup(warmup: ServerWarmup, settledJitCores: number, windowSeconds = 5): string {
  const busy = warmup.lastWindowJit.filter((server) => server.cores >= 0.005);
  const jit =
    busy.length === 0 ? 'none' : busy.map((server) => `${server.name} ${Math.round(server.cores * 100)} %`).join(', ');
  const verdict = warmup.settled
    ? `servers warmed in ${warmup.seconds.toFixed(0)} s (${warmup.rounds} rounds)`
    : `servers STILL COMPILING after ${warmup.seconds.toFixed(0)} s (${warmup.rounds} rounds; settled means below ` +
      `${Math.round(settledJitCores * 100)} % of a core): the figures below include a cold server`;
  return `${verdict}; JIT compiling over the last ${windowSeconds} s: ${jit}`;
}
