/**
 * Retry-After, per provider: once a provider names a time, no request goes to it before that time. Every
 * adapter reports the provider's value in `Outcome.retryAfterMs`; the gate is the one place that holds it.
 */

/**
 * A `Retry-After` header value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as milliseconds from `now`;
 * undefined when absent or unreadable. Header names are case-insensitive, so callers must look it up that way.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export class RetryAfterGate {
  #notBefore = 0;
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** The provider asked to wait `ms`: later requests wait until then (a later time never moves it earlier). */
  defer(ms: number): void {
    this.#notBefore = Math.max(this.#notBefore, this.#clock() + Math.max(0, ms));
  }

  /** Epoch ms before which no request may go out; 0 or the past when requests may go now. */
  get notBefore(): number {
    return this.#notBefore;
  }

  /** Milliseconds still to wait, 0 when open. */
  remaining(): number {
    return Math.max(0, this.#notBefore - this.#clock());
  }
}
