import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { backoffDelay, resolvePolicy } from './policy.ts';

describe('backoffDelay', () => {
  it('doubles the step per attempt, with the fixed half as a floor and the full step as a ceiling', () => {
    for (const [attempt, step] of [
      [1, 100],
      [2, 200],
      [3, 400],
      [4, 800],
    ] as const) {
      expect(backoffDelay(attempt, 100, 10_000, () => 0)).toBe(step / 2);
      expect(backoffDelay(attempt, 100, 10_000, () => 1)).toBe(step);
    }
  });

  it('caps the step at the maximum however many attempts failed', () => {
    expect(backoffDelay(30, 100, 5_000, () => 1)).toBe(5_000);
    expect(backoffDelay(10_000, 100, 5_000, () => 0)).toBe(2_500);
  });

  it('spreads delays between the floor and the ceiling (jitter)', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(3, 100, 10_000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays).size).toBeGreaterThan(20);
  });

  it('treats attempt 0 like the first retry', () => {
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
  });
});

describe('resolvePolicy', () => {
  const config = parseConfig({ MSGXC_RUNTIME_RETRY_ATTEMPTS: '4', MSGXC_RUNTIME_DELAYED_ATTEMPTS: '2' });

  it('takes defaults from the configuration', () => {
    expect(resolvePolicy(config)).toMatchObject({ attempts: 4, delayedAttempts: 2, baseMs: 200, maxMs: 5_000 });
  });

  it("lets a stage's policy override single fields", () => {
    const classify = () => 'permanent' as const;
    const policy = resolvePolicy(config, { attempts: 1, delayedAttempts: 0, classify });
    expect(policy).toMatchObject({ attempts: 1, delayedAttempts: 0, baseMs: 200 });
    expect(policy.classify).toBe(classify);
  });

  it('refuses a budget without a first attempt', () => {
    expect(() => resolvePolicy(config, { attempts: 0 })).toThrow(RangeError);
    expect(() => resolvePolicy(config, { delayedAttempts: -1 })).toThrow(RangeError);
  });
});
