/**
 * A circuit breaker per provider: `failureThreshold` consecutive transient failures (5xx, timeouts,
 * connection errors) open it for `cooldownMs`; then one probe call is let through (half-open), whose
 * success closes it and whose failure opens it again with the cool-down doubled (up to `maxCooldownMs`).
 * While open, callers do not drop records: they wait for `retryAt` (see the delivery stage).
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  maxCooldownMs?: number;
  clock?: () => number;
}

export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedUntil = 0;
  #cooldown: number;
  #probing = false;
  readonly #options: Required<Omit<BreakerOptions, 'clock'>>;
  readonly #clock: () => number;
  /** Called on every change of state, for metrics and logs. */
  onChange: ((state: BreakerState) => void) | undefined;

  constructor(options: BreakerOptions) {
    this.#options = { maxCooldownMs: options.cooldownMs * 16, ...options };
    this.#cooldown = options.cooldownMs;
    this.#clock = options.clock ?? Date.now;
  }

  get state(): BreakerState {
    if (this.#state === 'open' && this.#clock() >= this.#openedUntil) this.#set('half-open');
    return this.#state;
  }

  /** Epoch ms when a call may be tried again: now when closed, the end of the cool-down when open. */
  get retryAt(): number {
    const state = this.state;
    if (state === 'closed') return 0;
    if (state === 'half-open') return this.#probing ? this.#clock() + this.#options.cooldownMs : 0;
    return this.#openedUntil;
  }

  /** Whether a call may go now; in half-open only one (the probe) until it reports. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#probing = false;
    this.#cooldown = this.#options.cooldownMs;
    if (this.#state !== 'closed') this.#set('closed');
  }

  failure(): void {
    this.#failures += 1;
    const wasProbe = this.#probing;
    this.#probing = false;
    if (wasProbe || this.#state === 'half-open') {
      this.#cooldown = Math.min(this.#options.maxCooldownMs, this.#cooldown * 2);
      this.#open();
    } else if (this.#state === 'closed' && this.#failures >= this.#options.failureThreshold) {
      this.#open();
    }
  }

  /** A call that said nothing about the provider's health (all rejected as bad tokens, say): frees a probe. */
  neutral(): void {
    if (this.#probing) this.success();
  }

  #open(): void {
    this.#openedUntil = this.#clock() + this.#cooldown;
    this.#set('open');
  }

  #set(state: BreakerState): void {
    this.#state = state;
    this.onChange?.(state);
  }
}
