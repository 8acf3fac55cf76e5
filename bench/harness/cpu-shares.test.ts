import { describe, expect, it } from 'vitest';
import { describeCpuPhase, startCpuPhase, threadRole } from './cpu-shares.ts';

describe('CPU by process', () => {
  it("tells a JVM's compiler and collector threads from its other threads", () => {
    expect(['C2 CompilerThre', 'C1 CompilerThre'].map(threadRole)).toEqual(['jit', 'jit']);
    expect(['GC Thread#0', 'G1 Refine#0', 'G1 Conc#0'].map(threadRole)).toEqual(['gc', 'gc', 'gc']);
    expect(['Native-Transpor', 'data-plane-kafk', 'VM Periodic Tas'].map(threadRole)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("says how much of a JVM's share went to compiling and collecting", () => {
    const text = describeCpuPhase({
      seconds: 10,
      cores: 2,
      idleCores: 1,
      shares: [
        { name: 'cassandra', cores: 0.46, jitCores: 0.1, gcCores: 0.02 },
        { name: 'kafka', cores: 0.2, jitCores: 0.004, gcCores: 0 },
        { name: 'msgxc ack', cores: 0.1 },
      ],
    });
    expect(text).toContain('46 %  cassandra (JIT compiling 10 %, GC 2 %)');
    expect(text).toMatch(/20 % {2}kafka$/m);
    expect(text).toMatch(/10 % {2}msgxc ack$/m);
  });

  it('counts this process among the processes of a phase', () => {
    const phase = startCpuPhase();
    const until = performance.now() + 150;
    while (performance.now() < until) Math.sqrt(Math.random());
    const used = phase();
    if (process.platform !== 'linux') return expect(used.shares).toEqual([]);
    expect(used.shares.find((share) => share.name.startsWith('bench (this process'))?.cores).toBeGreaterThan(0);
  });
});
