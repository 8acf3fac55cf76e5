import { MsgxcError } from '../errors/index.ts';
import { CircuitBreaker } from './breaker.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from './contract.ts';
import type { DeliveryMetrics } from './metrics.ts';
import { AdaptiveRateLimiter } from './rate-limit.ts';
import { RetryAfterGate } from './retry-after.ts';

/**
 * The policy around ONE provider account, written once for every adapter: the Retry-After gate, the adaptive
 * rate limit and the circuit breaker. `attempt` either sends (returning one outcome per message, with the
 * provider and latency) or says until when the provider must not be called.
 */
export interface ProviderPolicyOptions {
  /** Documented (or configured) quota, recipients per second. */
  perSecond: number;
  burst?: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  /** A provider call taking longer than this is a timeout (a transient failure that counts against the breaker). */
  timeoutMs: number;
  /** The least a throttle without a time waits (FCM QUOTA_EXCEEDED: ≥ 1 min is set by the adapter). */
  defaultThrottleMs?: number;
  clock?: () => number;
}

export interface AttemptOutcome extends Outcome {
  provider: string;
  latencyMs: number;
}

export type AttemptResult =
  | { kind: 'sent'; outcomes: AttemptOutcome[] }
  | { kind: 'wait'; until: number; reason: string };

/** HTTP-ish codes that say the provider, not the request, is unwell: they count against the breaker. */
export function isProviderFault(outcome: Outcome): boolean {
  if (outcome.status !== 'failed') return false;
  const code = outcome.providerCode ?? '';
  return (
    /^5\d\d$/.test(code) || /TIMEOUT|ECONN|UNAVAILABLE|INTERNAL|SOCKET|GOAWAY|EPIPE|ENOTFOUND|EAI_AGAIN/i.test(code)
  );
}

export class ProviderPolicy {
  readonly adapter: ProviderAdapter;
  readonly gate: RetryAfterGate;
  readonly limiter: AdaptiveRateLimiter;
  readonly breaker: CircuitBreaker;
  readonly #options: ProviderPolicyOptions;
  readonly #metrics: DeliveryMetrics | undefined;
  readonly #clock: () => number;

  constructor(adapter: ProviderAdapter, options: ProviderPolicyOptions, metrics?: DeliveryMetrics) {
    this.adapter = adapter;
    this.#options = options;
    this.#metrics = metrics;
    this.#clock = options.clock ?? Date.now;
    this.gate = new RetryAfterGate(this.#clock);
    this.limiter = new AdaptiveRateLimiter({
      perSecond: options.perSecond,
      ...(options.burst === undefined ? {} : { burst: options.burst }),
      clock: this.#clock,
    });
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breakerFailures,
      cooldownMs: options.breakerCooldownMs,
      clock: this.#clock,
    });
    const provider = adapter.provider;
    this.breaker.onChange = (state) =>
      metrics?.breaker.set({ provider }, state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
    metrics?.breaker.set({ provider }, 0);
    metrics?.rate.set({ provider }, this.limiter.rate);
  }

  get provider(): string {
    return this.adapter.provider;
  }

  /** Epoch ms from which a call may go (now or earlier when it may go at once). */
  readyAt(): number {
    return Math.max(this.gate.notBefore, this.breaker.retryAt);
  }

  /**
   * Sends as many of `messages` as the rate limit grants now (at least one, at most `adapter.maxBatch`), or
   * says how long to wait. The caller loops until every message has an outcome.
   */
  async attempt(messages: OutgoingMessage[], signal: AbortSignal): Promise<AttemptResult> {
    const provider = this.provider;
    if (this.gate.remaining() > 0) return { kind: 'wait', until: this.gate.notBefore, reason: 'retry_after' };
    if (this.breaker.state === 'open') return { kind: 'wait', until: this.breaker.retryAt, reason: 'breaker_open' };
    const { granted, waitMs } = this.limiter.take(Math.min(messages.length, this.adapter.maxBatch));
    if (granted === 0) return { kind: 'wait', until: this.#clock() + waitMs, reason: 'rate_limit' };
    if (!this.breaker.tryAcquire()) {
      return { kind: 'wait', until: Math.max(this.breaker.retryAt, this.#clock() + 1), reason: 'breaker_open' };
    }
    const slice = messages.slice(0, granted);
    const started = performance.now();
    let outcomes: Outcome[];
    try {
      outcomes = await this.#send(slice, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      const code = callFailureCode(error);
      outcomes = slice.map((message) => ({
        deliveryId: message.recipient.deliveryId,
        status: 'failed' as const,
        providerCode: code,
        detail: error instanceof Error ? error.message.slice(0, 300) : String(error),
      }));
    }
    const latencyMs = Math.round(performance.now() - started);
    this.#metrics?.latency.observe({ provider }, latencyMs / 1000);
    this.#learn(outcomes);
    return {
      kind: 'sent',
      outcomes: complete(slice, outcomes).map((outcome) => ({ ...outcome, provider, latencyMs })),
    };
  }

  async #send(slice: OutgoingMessage[], signal: AbortSignal): Promise<Outcome[]> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    const call = this.adapter.send(slice, combined);
    // An adapter that ignores the signal must not hold the batch past the timeout.
    const expired = new Promise<never>((_, reject) => {
      combined.addEventListener('abort', () => reject(timeoutError(this.provider, this.#options.timeoutMs)), {
        once: true,
      });
    });
    return Promise.race([call, expired]);
  }

  /** Feeds the outcomes back: throttles into the gate and the limiter, faults and successes into the breaker. */
  #learn(outcomes: Outcome[]): void {
    let faults = 0;
    let healthy = 0;
    for (const outcome of outcomes) {
      if (outcome.status === 'throttled') {
        this.gate.defer(outcome.retryAfterMs ?? this.#options.defaultThrottleMs ?? 1_000);
      } else if (outcome.retryAfterMs !== undefined) {
        this.gate.defer(outcome.retryAfterMs);
      }
      if (isProviderFault(outcome)) faults += 1;
      else if (outcome.status === 'sent' || outcome.status === 'rejected') healthy += 1;
    }
    if (outcomes.some((outcome) => outcome.status === 'throttled')) {
      this.limiter.throttled();
      this.#metrics?.rate.set({ provider: this.provider }, this.limiter.rate);
    }
    if (faults > 0 && healthy === 0) this.breaker.failure();
    else if (healthy > 0) this.breaker.success();
    else this.breaker.neutral();
  }
}

/** An adapter that forgot a recipient: that recipient failed transiently (never silently lost). */
function complete(slice: OutgoingMessage[], outcomes: Outcome[]): Outcome[] {
  const seen = new Set(outcomes.map((outcome) => outcome.deliveryId));
  const missing = slice
    .filter((message) => !seen.has(message.recipient.deliveryId))
    .map(
      (message): Outcome => ({
        deliveryId: message.recipient.deliveryId,
        status: 'failed',
        providerCode: 'NO_OUTCOME',
        detail: 'the adapter returned no outcome for this recipient',
      }),
    );
  return [...outcomes, ...missing];
}

function timeoutError(provider: string, ms: number): MsgxcError {
  return new MsgxcError('PROVIDER_TIMEOUT', `${provider} did not answer within ${ms} ms`, { retriable: true });
}

function callFailureCode(error: unknown): string {
  if (error instanceof MsgxcError) return error.code;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return 'PROVIDER_ERROR';
}
