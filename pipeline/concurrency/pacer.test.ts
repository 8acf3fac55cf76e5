import { describe, expect, it } from 'vitest';
import { pause } from './index.ts';
import { createPacer } from './pacer.ts';

const options = { tolerance: 1.5, maxPauseMs: 400, windowMs: 10_000 };
/** Lets promise callbacks and zero-delay work run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createPacer', () => {
  it('never pauses while requests take about their usual time', async () => {
    const pacer = createPacer(options);
    for (const latency of [20, 22, 19, 25, 21, 20]) {
      await pacer.run(async () => undefined, { measured: false });
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

  it('pauses and narrows the window while `busy` says so, though answers come in their usual time', () => {
    let busy = false;
    const pacer = createPacer({ ...options, busy: () => busy });
    pacer.after(20);
    pacer.after(20);
    expect(pacer.pauseMs).toBe(0);
    busy = true;
    pacer.after(20);
    expect(pacer.pauseMs).toBe(20);
    pacer.after(20);
    expect(pacer.pauseMs).toBe(40);
    expect(pacer.inFlightLimit).toBe(1);
    busy = false;
    pacer.after(20);
    expect(pacer.pauseMs).toBe(20);
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
    await pacer.run(async () => undefined, { measured: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(9);
    expect(pacer.pausedMs).toBe(10);
  });

  it('stops waiting when the walk is aborted', async () => {
    const pacer = createPacer({ ...options, maxPauseMs: 60_000 });
    pacer.after(1_000);
    pacer.after(50_000);
    const abort = new AbortController();
    const waiting = pacer.run(async () => undefined, { signal: abort.signal });
    abort.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
  });

  it('does not wait at all once the walk was aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('gone'));
    await expect(pause(60_000, abort.signal)).rejects.toThrow('gone');
  });

  it('sends one request at a time at first, one more with each answer in the usual time, half as many after a slow one', async () => {
    const pacer = createPacer({ ...options, slackMs: 0 });
    const answers: ((value: string) => void)[] = [];
    const calls: Promise<string>[] = [];
    const started = () => answers.length;
    const request = () => pacer.run(() => new Promise<string>((resolve) => answers.push(resolve)), { measured: false });
    for (let i = 0; i < 4; i++) calls.push(request());
    await settle();
    expect(started()).toBe(1);
    // A measured answer in the usual time, while the window held the others back: the window grows to two.
    const measured = pacer.run(async () => 'page');
    pacer.after(10);
    expect(pacer.inFlightLimit).toBe(2);
    answers[0]!('pit');
    await settle();
    expect(started()).toBe(3);
    pacer.after(10);
    expect(pacer.inFlightLimit).toBe(3);
    await settle();
    expect(started()).toBe(4);
    pacer.after(50);
    expect(pacer.inFlightLimit).toBe(1);
    for (const answer of answers) answer('pit');
    await expect(Promise.all(calls)).resolves.toEqual(['pit', 'pit', 'pit', 'pit']);
    await expect(measured).resolves.toBe('page');
  });

  it('does not let the window grow while it has room to spare', async () => {
    const pacer = createPacer(options);
    for (let i = 0; i < 5; i++) await pacer.run(async () => undefined);
    // One request at a time never filled a window of one... until the first answer, which found it full.
    expect(pacer.inFlightLimit).toBe(2);
  });

  it('starts again from one request in flight after a while with none (the next broadcast starts slowly too)', async () => {
    let now = 0;
    const pacer = createPacer({ ...options, clock: () => now, idleRestartMs: 2_000 });
    for (let i = 0; i < 3; i++) await Promise.all([1, 2, 3].map(() => pacer.run(async () => undefined)));
    expect(pacer.inFlightLimit).toBeGreaterThan(1);
    now = 1_000;
    await pacer.run(async () => undefined);
    expect(pacer.inFlightLimit).toBeGreaterThan(1);
    now = 3_500;
    const answers: (() => void)[] = [];
    const calls = [1, 2].map(() =>
      pacer.run(() => new Promise<void>((resolve) => answers.push(resolve)), { measured: false }),
    );
    await settle();
    expect(pacer.inFlightLimit).toBe(1);
    expect(answers).toHaveLength(1);
    answers[0]!();
    await settle();
    answers[1]!();
    await Promise.all(calls);
  });

  it('gives up its place in the queue for the window when the walk is aborted', async () => {
    const pacer = createPacer(options);
    let finish: () => void = () => undefined;
    const first = pacer.run(() => new Promise<void>((resolve) => (finish = resolve)), { measured: false });
    const abort = new AbortController();
    const queued = pacer.run(async () => 'never', { signal: abort.signal });
    abort.abort(new Error('shutting down'));
    await expect(queued).rejects.toThrow('shutting down');
    finish();
    await first;
    await expect(pacer.run(async () => 'next')).resolves.toBe('next');
  });

  it('refuses a tolerance that would read every request as contention', () => {
    expect(() => createPacer({ ...options, tolerance: 1 })).toThrow(RangeError);
  });
});
