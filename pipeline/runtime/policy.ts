import type { Config } from '../config/index.ts';
import type { ErrorPolicy } from './types.ts';

export function resolvePolicy(config: Config, overrides: Partial<ErrorPolicy> = {}): ErrorPolicy {
  const { retry, delayedRetry } = config.runtime;
  const policy: ErrorPolicy = {
    attempts: overrides.attempts ?? retry.attempts,
    baseMs: overrides.baseMs ?? retry.baseMs,
    maxMs: overrides.maxMs ?? retry.maxMs,
    delayedAttempts: overrides.delayedAttempts ?? delayedRetry.attempts,
    delayedBaseMs: overrides.delayedBaseMs ?? delayedRetry.baseMs,
    delayedMaxMs: overrides.delayedMaxMs ?? delayedRetry.maxMs,
  };
  if (overrides.classify) policy.classify = overrides.classify;
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) throw new RangeError('errors.attempts must be ≥ 1');
  if (!Number.isInteger(policy.delayedAttempts) || policy.delayedAttempts < 0) {
    throw new RangeError('errors.delayedAttempts must be ≥ 0');
  }
  return policy;
}

/**
 * Exponential back-off with "equal jitter": half of the capped exponential step is fixed, half random.
 * The fixed half guarantees the wait grows with each attempt; the random half spreads consumers that
 * failed together so they do not retry in lock-step. `attempt` counts failures so far (1 = first retry).
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(exponent, 40));
  const half = step / 2;
  return Math.round(half + random() * half);
}
