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
    const missing = () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    expect(createCpuPressure({ readText: missing })).toBeNull();
    expect(createCpuPressure({ readText: () => 'garbage' })).toBeNull();
  });
});
