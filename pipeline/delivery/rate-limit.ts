/**
 * An adaptive token bucket per provider account: it starts at the provider's documented quota (or the
 * configured one), halves its rate when the provider throttles (429, QUOTA_EXCEEDED, Twilio 20429) and grows
 * back by a tenth of the ceiling per quiet interval (additive increase, multiplicative decrease), never above
 * the ceiling and never below the floor.
 */
export interface RateLimitOptions {
  /** Requests (recipients) per second the account may make: the documented quota. */
  perSecond: number;
  /** Bucket size: how many may go at once after a quiet spell; one second's worth by default. */
  burst?: number;
  /** The lowest rate a run of throttles can push it to. */
  minPerSecond?: number;
  /** How long without a throttle before the rate grows again. */
  recoverAfterMs?: number;
  clock?: () => number;
}

export class AdaptiveRateLimiter {
  readonly ceiling: number;
  readonly floor: number;
  #rate: number;
  #tokens: number;
  #refilledAt: number;
  #lastThrottleAt = Number.NEGATIVE_INFINITY;
  #lastGrowthAt = Number.NEGATIVE_INFINITY;
  readonly #burst: number | undefined;
  readonly #recoverAfterMs: number;
  readonly #clock: () => number;

  constructor(options: RateLimitOptions) {
    if (!(options.perSecond > 0)) throw new RangeError('perSecond must be > 0');
    this.ceiling = options.perSecond;
    this.floor = Math.min(options.minPerSecond ?? Math.max(1, options.perSecond / 100), options.perSecond);
    this.#rate = options.perSecond;
    this.#burst = options.burst;
    this.#recoverAfterMs = options.recoverAfterMs ?? 5_000;
    this.#clock = options.clock ?? Date.now;
    this.#tokens = this.#capacity();
    this.#refilledAt = this.#clock();
  }

  /** The current rate, per second. */
  get rate(): number {
    return this.#rate;
  }

  #capacity(): number {
    return Math.max(1, this.#burst ?? this.#rate);
  }

  #refill(): void {
    const now = this.#clock();
    this.#recover(now);
    this.#tokens = Math.min(this.#capacity(), this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
  }

  #recover(now: number): void {
    if (this.#rate >= this.ceiling) return;
    const quietSince = Math.max(this.#lastThrottleAt, this.#lastGrowthAt);
    if (now - quietSince < this.#recoverAfterMs) return;
    this.#rate = Math.min(this.ceiling, this.#rate + this.ceiling / 10);
    this.#lastGrowthAt = now;
  }

  /**
   * Takes up to `wanted` tokens now. Returns how many were granted (≥ 1 when any) and, when none, how long
   * until one is available.
   */
  take(wanted: number): { granted: number; waitMs: number } {
    this.#refill();
    if (this.#tokens >= 1) {
      const granted = Math.max(1, Math.min(wanted, Math.floor(this.#tokens)));
      this.#tokens -= granted;
      return { granted, waitMs: 0 };
    }
    return { granted: 0, waitMs: Math.ceil(((1 - this.#tokens) / this.#rate) * 1000) };
  }

  /** The provider throttled: halve the rate (not below the floor) and empty the bucket. */
  throttled(): void {
    const now = this.#clock();
    this.#rate = Math.max(this.floor, this.#rate / 2);
    this.#tokens = Math.min(this.#tokens, 0);
    this.#refilledAt = now;
    this.#lastThrottleAt = now;
  }
}
