import { describe, expect, it } from 'vitest';
import type { CpuPressure } from '../../pipeline/concurrency/cpu-pressure.ts';
import { ConfigError } from '../../pipeline/config/index.ts';
import { bulkPacerOptions } from './index.ts';

const pacing = { tolerance: 2, maxPauseMs: 1_000, cpuPressureLimit: 0.4, cpuPressureFile: null };

/** A log that keeps its lines, and a pressure source whose share the test sets. */
function fixtures() {
  const lines: { level: string; message: string }[] = [];
  const log = {
    info: (_fields: object, message: string) => lines.push({ level: 'info', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
  } as never;
  const share = { value: 0 };
  const opened: (string | undefined)[] = [];
  const read = (path?: string): CpuPressure => {
    opened.push(path);
    return { path: path ?? '/proc/pressure/cpu', read: () => share.value };
  };
  return { lines, log, share, opened, read };
}

describe("the bulk lane's pacer options", () => {
  it('count the CPU pressure above the limit as a slow page, from the machine unless a file is named', () => {
    const { log, share, opened, read, lines } = fixtures();
    const options = bulkPacerOptions(pacing, log, read);
    expect(options).toMatchObject({ tolerance: 2, maxPauseMs: 1_000 });
    share.value = 0.39;
    expect(options.busy?.()).toBe(false);
    share.value = 0.41;
    expect(options.busy?.()).toBe(true);
    bulkPacerOptions({ ...pacing, cpuPressureFile: '/sys/fs/cgroup/msgxc.slice/cpu.pressure' }, log, read);
    expect(opened).toEqual([undefined, '/sys/fs/cgroup/msgxc.slice/cpu.pressure']);
    expect(lines.map((line) => line.level)).toEqual(['info', 'info']);
  });

  it('read no pressure with a limit of 0', () => {
    const { log, opened, read } = fixtures();
    expect(bulkPacerOptions({ ...pacing, cpuPressureLimit: 0 }, log, read).busy).toBeUndefined();
    expect(opened).toEqual([]);
  });

  it("pace on latency alone, and say so, where the machine's kernel has no pressure information", () => {
    const { log, lines } = fixtures();
    expect(bulkPacerOptions(pacing, log, () => null).busy).toBeUndefined();
    expect(lines).toEqual([{ level: 'warn', message: expect.stringMatching(/no CPU pressure information/) }]);
  });

  it('refuse to start when a named pressure file gives nothing: a wrong path must not turn the signal off', () => {
    const { log } = fixtures();
    const named = { ...pacing, cpuPressureFile: '/sys/fs/cgroup/no-such.slice/cpu.pressure' };
    expect(() => bulkPacerOptions(named, log, () => null)).toThrow(ConfigError);
    expect(() => bulkPacerOptions(named, log, () => null)).toThrow(/MSGXC_FANOUT_BULK_CPU_PRESSURE_FILE/);
  });
});
