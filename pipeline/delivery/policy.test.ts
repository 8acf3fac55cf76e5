import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.ts';
import { AdaptiveRateLimiter } from './rate-limit.ts';
import { parseRetryAfter, RetryAfterGate } from './retry-after.ts';

const manualClock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP-dates, and nothing else', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('RetryAfterGate', () => {
  it('holds the latest time it was given and never moves it earlier', () => {
    const clock = manualClock();
    const gate = new RetryAfterGate(clock.now);
    expect(gate.remaining()).toBe(0);
    gate.defer(5_000);
    gate.defer(1_000);
    expect(gate.remaining()).toBe(5_000);
    clock.advance(4_999);
    expect(gate.remaining()).toBe(1);
    clock.advance(1);
    expect(gate.remaining()).toBe(0);
  });
});

describe('AdaptiveRateLimiter', () => {
  it('grants the burst, then meters at the rate', () => {
    const clock = manualClock();
    const limiter = new AdaptiveRateLimiter({ perSecond: 10, clock: clock.now });
    expect(limiter.take(25)).toEqual({ granted: 10, waitMs: 0 });
    const empty = limiter.take(1);
    expect(empty.granted).toBe(0);
    expect(empty.waitMs).toBe(100);
    clock.advance(100);
    expect(limiter.take(5).granted).toBe(1);
  });

  it('halves on a throttle, down to the floor, and recovers after quiet intervals up to the ceiling', () => {
    const clock = manualClock();
    const limiter = new AdaptiveRateLimiter({
      perSecond: 100,
      minPerSecond: 20,
      recoverAfterMs: 1_000,
      clock: clock.now,
    });
    limiter.throttled();
    expect(limiter.rate).toBe(50);
    limiter.throttled();
    limiter.throttled();
    expect(limiter.rate).toBe(20);
    clock.advance(999);
    limiter.take(1);
    expect(limiter.rate).toBe(20);
    for (let step = 0; step < 20; step += 1) {
      clock.advance(1_000);
      limiter.take(1);
    }
    expect(limiter.rate).toBe(100);
  });
});

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, lets one probe through after the cool-down, closes on its success', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1_000, clock: clock.now });
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.retryAt).toBe(clock.now() + 1_000);
    clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.success();
    expect(breaker.state).toBe('closed');
  });

  it('a failed probe opens it again for twice as long', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1_000, clock: clock.now });
    breaker.failure();
    clock.advance(1_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.retryAt).toBe(clock.now() + 2_000);
  });

  it('a success between failures resets the count', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1_000 });
    breaker.failure();
    breaker.success();
    breaker.failure();
    expect(breaker.state).toBe('closed');
  });
});
