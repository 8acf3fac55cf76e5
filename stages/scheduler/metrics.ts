import { Counter, Histogram, type Registry } from 'prom-client';
import { registry as processRegistry } from '../../pipeline/metrics/index.ts';

export interface SchedulerMetrics {
  rows: Counter<'outcome'>;
  tickErrors: Counter;
  tickDuration: Histogram;
}

const byRegistry = new WeakMap<Registry, SchedulerMetrics>();

/** The scheduler's metrics, once per registry (two instances in one process share them). */
export function schedulerMetrics(target: Registry = processRegistry): SchedulerMetrics {
  const existing = byRegistry.get(target);
  if (existing) return existing;
  const registers = [target];
  const metrics: SchedulerMetrics = {
    rows: new Counter({
      name: 'msgxc_scheduler_rows_total',
      help: 'Due schedule rows by outcome: lost = another instance claimed it first, injected = sent to its lane, expired = its time ran out while held.',
      labelNames: ['outcome'],
      registers,
    }),
    tickErrors: new Counter({
      name: 'msgxc_scheduler_tick_errors_total',
      help: 'Scheduler passes that failed (their claimed rows are retried).',
      registers,
    }),
    tickDuration: new Histogram({
      name: 'msgxc_scheduler_tick_seconds',
      help: 'Duration of one scheduler pass: find, claim, re-inject, complete.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
  byRegistry.set(target, metrics);
  return metrics;
}
