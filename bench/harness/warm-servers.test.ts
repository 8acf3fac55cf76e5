import { describe, expect, it } from 'vitest';
import type { CpuPhase } from './cpu-shares.ts';
import { describeWarmup, warmServers } from './warm-servers.ts';

/** A measure that reports, round after round, the JVMs' compiler threads given (cores per server). */
function phases(rounds: Record<string, number>[]) {
  let next = 0;
  return () => () => {
    const jit = rounds[Math.min(next++, rounds.length - 1)]!;
    const phase: CpuPhase = {
      seconds: 5,
      cores: 2,
      idleCores: 0.5,
      shares: [
        { name: 'msgxc fanout.bulk', cores: 0.3 },
        ...Object.entries(jit).map(([name, jitCores]) => ({ name, cores: jitCores + 0.2, jitCores, gcCores: 0 })),
      ],
    };
    return phase;
  };
}

describe('warming the servers before a bench measures', () => {
  it('repeats windows of rounds until the compilers settle, and says which JVM compiled last', async () => {
    const ran: number[] = [];
    const warmup = await warmServers(async (n) => void ran.push(n), {
      maxSeconds: 60,
      settledJitCores: 0.03,
      windowSeconds: 0,
      measure: phases([
        { opensearch: 0.3, kafka: 0.05 },
        { opensearch: 0.1, kafka: 0.02 },
        { opensearch: 0.02, kafka: 0.005 },
      ]),
    });
    expect(ran).toEqual([0, 1, 2]);
    expect(warmup.settled).toBe(true);
    expect(warmup.lastWindowJit).toEqual([
      { name: 'opensearch', cores: 0.02 },
      { name: 'kafka', cores: 0.005 },
    ]);
    expect(describeWarmup(warmup, 0.03, 5)).toMatch(
      /^servers warmed in \d+ s \(3 rounds\); JIT compiling over the last 5 s: opensearch 2 %, kafka 1 %$/,
    );
  });

  it('runs at least the minimum windows, even when the first measured nothing', async () => {
    const ran: number[] = [];
    const warmup = await warmServers(async (n) => void ran.push(n), {
      maxSeconds: 60,
      settledJitCores: 0.03,
      windowSeconds: 0,
      minWindows: 2,
      measure: phases([{ opensearch: 0 }]),
    });
    expect(ran).toEqual([0, 1]);
    expect(warmup.settled).toBe(true);
  });

  it('gives up at the time limit and says the servers are still compiling', async () => {
    const warmup = await warmServers(() => new Promise((resolve) => setTimeout(resolve, 30)), {
      maxSeconds: 0.05,
      settledJitCores: 0.03,
      windowSeconds: 0,
      measure: phases([{ opensearch: 0.4 }]),
    });
    expect(warmup.settled).toBe(false);
    expect(warmup.rounds).toBe(2);
    expect(describeWarmup(warmup, 0.03, 5)).toContain(
      'servers STILL COMPILING after 0 s (2 rounds; settled means below 3 % of a core)',
    );
  });

  it('counts only the JVMs: processes without compiler threads are not servers', async () => {
    const warmup = await warmServers(() => Promise.resolve(), {
      maxSeconds: 60,
      settledJitCores: 0.03,
      windowSeconds: 0,
      measure: phases([{}]),
    });
    expect(warmup.lastWindowJit).toEqual([]);
    expect(describeWarmup(warmup, 0.03, 5)).toContain('JIT compiling over the last 5 s: none');
  });

  it('measures over a window of several rounds when each is shorter than the window', async () => {
    let measured = 0;
    const warmup = await warmServers(() => new Promise((resolve) => setTimeout(resolve, 10)), {
      maxSeconds: 60,
      settledJitCores: 0.03,
      windowSeconds: 0.1,
      measure: () => {
        measured++;
        return phases([{ opensearch: 0 }])();
      },
    });
    expect(measured).toBe(2);
    expect(warmup.rounds).toBeGreaterThanOrEqual(2 * 5);
    expect(warmup.seconds).toBeGreaterThanOrEqual(0.2);
  });
});
