import { describe, expect, it } from 'vitest';
import { pause } from './index.ts';
import { createPacer } from './pacer.ts';

const options = { tolerance: 1.5, maxPauseMs: 400, windowMs: 10_000 };

describe('createPacer', () => {
  it('never pauses while requests take about their usual time', async () => {
    const pacer = createPacer(options);
    for (const latency of [20, 22, 19, 25, 21, 20]) {
      await pacer.before();
      pacer.after(latency);
      expect(pacer.pauseMs).toBe(0);
    }
    expect(pacer.pausedMs).toBe(0);
  });

  it('pauses as long as a request takes once requests slow down, doubling while they stay slow, up to the cap', () => {
    const pacer = createPacer(options);
    pacer.after(20);
    pacer.after(60);
    expect(pacer.pauseMs).toBe(20);
    pacer.after(60);
    expect(pacer.pauseMs).toBe(40);
    for (let i = 0; i < 10; i++) pacer.after(60);
    expect(pacer.pauseMs).toBe(400);
  });

  it('halves the pause while requests are fast again, down to none', () => {
    const pacer = createPacer(options);
    pacer.after(20);
    for (let i = 0; i < 4; i++) pacer.after(80);
    expect(pacer.pauseMs).toBe(160);
    pacer.after(21);
    expect(pacer.pauseMs).toBe(80);
    for (let i = 0; i < 8; i++) pacer.after(21);
    expect(pacer.pauseMs).toBe(0);
  });

  it('does not read jitter of a fast server as contention', () => {
    const pacer = createPacer(options);
    pacer.after(1);
    pacer.after(2.5);
    expect(pacer.pauseMs).toBe(0);
  });

  it('forgets an old minimum: a server that became slower for good is the new base', () => {
    let now = 0;
    const pacer = createPacer({ ...options, clock: () => now });
    pacer.after(10);
    now = 6_000;
    pacer.after(30);
    expect(pacer.pauseMs).toBeGreaterThan(0);
    now = 12_000;
    pacer.after(30);
    // The 10 ms minimum is more than a window old: 30 ms is the base now, and the pause winds down.
    for (let i = 0; i < 10; i++) pacer.after(30);
    expect(pacer.pauseMs).toBe(0);
  });

  it('waits the pause before the next request, and counts it', async () => {
    const pacer = createPacer(options);
    pacer.after(10);
    pacer.after(50);
    expect(pacer.pauseMs).toBe(10);
    const started = performance.now();
    await pacer.before();
    expect(performance.now() - started).toBeGreaterThanOrEqual(9);
    expect(pacer.pausedMs).toBe(10);
  });

  it('stops waiting when the walk is aborted', async () => {
    const pacer = createPacer({ ...options, maxPauseMs: 60_000 });
    pacer.after(1_000);
    pacer.after(50_000);
    const abort = new AbortController();
    const waiting = pacer.before(abort.signal);
    abort.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
  });

  it('does not wait at all once the walk was aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('gone'));
    await expect(pause(60_000, abort.signal)).rejects.toThrow('gone');
  });

  it('refuses a tolerance that would read every request as contention', () => {
    expect(() => createPacer({ ...options, tolerance: 1 })).toThrow(RangeError);
  });
});
