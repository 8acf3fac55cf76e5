import { describe, expect, it } from 'vitest';
import { measureCpuSpeed, parseCpuSpeeds, speedMarkdown } from './cpu-speed.ts';

describe('the machine speed beside bench results', () => {
  it('times the loop as a positive rate', () => {
    const { mips } = measureCpuSpeed(3, 200_000);
    expect(Number.isFinite(mips)).toBe(true);
    expect(mips).toBeGreaterThan(0);
  });

  it('reads the readings a bench printed, among its other lines', () => {
    const output = [
      'machine speed before the run: 800 M loop iterations/s',
      'BENCH-SPEED {"phase":"before","mips":800}',
      'BENCH-RESULT {"bench":"api","figure":"x","value":1,"unit":"req/s"}',
      'BENCH-SPEED {"phase":"after","mips":310.5}',
    ].join('\n');
    expect(parseCpuSpeeds(output)).toEqual({ before: 800, after: 310.5 });
    expect(parseCpuSpeeds('a run that crashed\n')).toEqual({});
  });

  it('names the runs that ran on a slowed machine, against the fastest reading', () => {
    const lines = speedMarkdown([
      { bench: 'api', round: 1, before: 800, after: 780 },
      { bench: 'api', round: 2, before: 790, after: 300 },
      { bench: 'flow', round: 1, before: 500 },
      { bench: 'flow', round: 2 },
    ]);
    expect(lines).toContain('Slowed: api run 2, flow run 1.');
    expect(lines).toContain('| api | 2 | 0.99 | 0.38 |');
    expect(lines).toContain('| flow | 2 | — | — |');
    expect(speedMarkdown([{ bench: 'api', round: 1, before: 800, after: 700 }])).toContain('No run was slowed.');
    expect(speedMarkdown([{ bench: 'api', round: 1 }])).toEqual([]);
  });
});
