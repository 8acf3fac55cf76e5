import { describe, expect, it } from 'vitest';
import { createCpuPressure } from './cpu-pressure.ts';

/** A pressure file whose "some" total (µs) the test sets, and a clock it moves. */
function fakeKernel() {
  const state = { totalMicros: 1_000_000, now: 0 };
  const text = () =>
    `some avg10=20.00 avg60=20.00 avg300=20.00 total=${state.totalMicros}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`;
  return { state, options: { clock: () => state.now, readText: text, minIntervalMs: 50 } };
}

describe('createCpuPressure', () => {
  it('gives the share of the time since the last reading that some task waited for a CPU', () => {
    const { state, options } = fakeKernel();
    const pressure = createCpuPressure(options)!;
    state.now = 100;
    state.totalMicros += 40_000; // 40 ms stalled in 100 ms
    expect(pressure.read()).toBeCloseTo(0.4);
    state.now = 300;
    state.totalMicros += 20_000; // 20 ms in the next 200 ms
    expect(pressure.read()).toBeCloseTo(0.1);
  });

  it('repeats the last share for a reading too soon after it, and counts the short gap into the next', () => {
    const { state, options } = fakeKernel();
    const pressure = createCpuPressure(options)!;
    state.now = 100;
    state.totalMicros += 50_000;
    expect(pressure.read()).toBeCloseTo(0.5);
    state.now = 120;
    state.totalMicros += 20_000;
    expect(pressure.read()).toBeCloseTo(0.5);
    state.now = 200;
    expect(pressure.read()).toBeCloseTo(0.2);
  });

  it('is null where the kernel gives no pressure information', () => {
    const failing = (code: string) => () => {
      throw Object.assign(new Error(code), { code });
    };
    expect(createCpuPressure({ readText: failing('ENOENT') })).toBeNull();
    // PSI compiled in but turned off (psi=0): the file is there and refuses reads.
    expect(createCpuPressure({ readText: failing('EOPNOTSUPP') })).toBeNull();
    expect(createCpuPressure({ readText: () => 'garbage' })).toBeNull();
  });

  it('throws when the file cannot be read for another reason: a wrong path was given', () => {
    const directory = () => {
      throw Object.assign(new Error('EISDIR: illegal operation on a directory'), { code: 'EISDIR' });
    };
    expect(() => createCpuPressure({ path: '/sys/fs/cgroup/msgxc.slice', readText: directory })).toThrow(/EISDIR/);
  });

  it('keeps the last share when a later read fails, and measures from the last good one when reads come back', () => {
    const { state, options } = fakeKernel();
    let broken = false;
    const pressure = createCpuPressure({
      ...options,
      readText: () => {
        if (broken) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return options.readText();
      },
    })!;
    state.now = 100;
    state.totalMicros += 60_000;
    expect(pressure.read()).toBeCloseTo(0.6);
    broken = true;
    state.now = 200;
    state.totalMicros += 10_000;
    expect(pressure.read()).toBeCloseTo(0.6);
    broken = false;
    state.now = 300;
    state.totalMicros += 10_000; // 20 ms in the 200 ms since the last good read
    expect(pressure.read()).toBeCloseTo(0.1);
  });

  it("reads the machine's file unless given another, and says which", () => {
    const { options } = fakeKernel();
    const read: string[] = [];
    const readText = (path: string) => {
      read.push(path);
      return options.readText();
    };
    expect(createCpuPressure({ ...options, readText })?.path).toBe('/proc/pressure/cpu');
    const cgroup = '/sys/fs/cgroup/msgxc.slice/cpu.pressure';
    expect(createCpuPressure({ ...options, readText, path: cgroup })?.path).toBe(cgroup);
    expect(read).toEqual(['/proc/pressure/cpu', cgroup]);
  });
});
