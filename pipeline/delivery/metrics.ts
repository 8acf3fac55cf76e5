import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { registry as processRegistry } from '../metrics/index.ts';

/** Delivery metrics per channel and provider, created once per registry. */
export interface DeliveryMetrics {
  outcomes: Counter<'channel' | 'provider' | 'outcome'>;
  latency: Histogram<'provider'>;
  breaker: Gauge<'provider'>;
  rate: Gauge<'provider'>;
  waits: Counter<'provider' | 'reason'>;
  pruned: Counter<'channel' | 'provider'>;
}

const byRegistry = new WeakMap<Registry, DeliveryMetrics>();

export function deliveryMetrics(target: Registry = processRegistry): DeliveryMetrics {
  const existing = byRegistry.get(target);
  if (existing) return existing;
  const registers = [target];
  const metrics: DeliveryMetrics = {
    outcomes: new Counter({
      name: 'msgxc_delivery_outcomes_total',
      help: 'Delivery outcomes per channel and provider (sent, rejected, throttled, failed, skipped, expired, parked).',
      labelNames: ['channel', 'provider', 'outcome'],
      registers,
    }),
    latency: new Histogram({
      name: 'msgxc_delivery_provider_seconds',
      help: 'How long one provider call took (a whole slice of recipients).',
      labelNames: ['provider'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    breaker: new Gauge({
      name: 'msgxc_delivery_breaker_state',
      help: 'Circuit breaker of a provider: 0 closed, 1 half-open, 2 open.',
      labelNames: ['provider'],
      registers,
    }),
    rate: new Gauge({
      name: 'msgxc_delivery_rate_per_second',
      help: "A provider's current adaptive rate limit.",
      labelNames: ['provider'],
      registers,
    }),
    waits: new Counter({
      name: 'msgxc_delivery_waits_total',
      help: 'Times sending waited, by reason (retry_after, rate_limit, breaker_open) and whether it parked records in the retry topic.',
      labelNames: ['provider', 'reason'],
      registers,
    }),
    pruned: new Counter({
      name: 'msgxc_delivery_pruned_total',
      help: 'Devices removed because the provider said they are gone.',
      labelNames: ['channel', 'provider'],
      registers,
    }),
  };
  byRegistry.set(target, metrics);
  return metrics;
}
