import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDeadlines } from './deadline.ts';

/** A call that never answers. */
const unanswered = <T>() => Promise.withResolvers<T>().promise;

describe('createDeadlines', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('settles as the work does, and forgets it', async () => {
    const deadlines = createDeadlines();
    await expect(deadlines.within(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(deadlines.within(Promise.reject(new Error('refused')), 1000, () => new Error('late'))).rejects.toThrow(
      'refused',
    );
    expect(deadlines.waiting).toBe(0);
  });

  it('rejects with the expiry error once the deadline passed, within its resolution', async () => {
    vi.useFakeTimers();
    let clock = 0;
    const deadlines = createDeadlines({ resolutionMs: 50, now: () => clock });
    const never = unanswered<number>();
    const slow = deadlines.within(never, 120, () => new Error('no answer within 120 ms'));
    const settled = vi.fn();
    slow.catch(settled);
    clock = 100;
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).not.toHaveBeenCalled();
    clock = 150;
    await vi.advanceTimersByTimeAsync(50);
    await expect(slow).rejects.toThrow('no answer within 120 ms');
    expect(deadlines.waiting).toBe(0);
  });

  it('expires only the calls whose deadline passed', async () => {
    vi.useFakeTimers();
    let clock = 0;
    const deadlines = createDeadlines({ resolutionMs: 10, now: () => clock });
    const short = deadlines.within(unanswered(), 20, () => new Error('short'));
    const shortSettled = expect(short).rejects.toThrow('short');
    const { promise, resolve } = Promise.withResolvers<string>();
    const long = deadlines.within(promise, 1000, () => new Error('long'));
    clock = 30;
    await vi.advanceTimersByTimeAsync(30);
    await shortSettled;
    expect(deadlines.waiting).toBe(1);
    resolve('answered');
    await expect(long).resolves.toBe('answered');
  });

  it('stops sweeping when nothing waits', async () => {
    vi.useFakeTimers();
    const deadlines = createDeadlines({ resolutionMs: 10 });
    await deadlines.within(Promise.resolve(1), 1000, () => new Error('late'));
    await vi.advanceTimersByTimeAsync(20);
    expect(vi.getTimerCount()).toBe(0);
  });
});
