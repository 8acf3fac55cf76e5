import type { MiddlewareHandler } from 'hono';
import { Counter, Histogram } from 'prom-client';
import type { Logger } from '../../pipeline/log/index.ts';
import type { Registry } from '../../pipeline/metrics/index.ts';
import type { Env } from './router.ts';

/**
 * One log line and one metric sample per request, both carrying the HTTP request id that every response
 * returns in `x-request-id` (the caller's own id when it sent a safe one, so traces join up). It names the
 * exchange, not the message: the ingest request id of a publish is `msgxc-request-id`.
 */

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

const metricsByRegistry = new WeakMap<Registry, HttpMetrics>();

export function httpMetrics(registry: Registry): HttpMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: HttpMetrics = {
    requests: new Counter({
      name: 'msgxc_http_requests_total',
      help: 'HTTP requests answered by the facade, by route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    duration: new Histogram({
      name: 'msgxc_http_request_duration_seconds',
      help: 'Time from receiving a request to answering it, by route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

const safeHttpRequestId = /^[\w\-=.]{1,128}$/;

export function observe(log: Logger, registry: Registry): MiddlewareHandler<Env> {
  const metrics = httpMetrics(registry);
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const httpRequestId = incoming !== undefined && safeHttpRequestId.test(incoming) ? incoming : crypto.randomUUID();
    c.set('httpRequestId', httpRequestId);
    c.set('log', log.child({ httpRequestId }));
    c.set('route', 'unmatched');
    try {
      await next();
    } finally {
      // Set on the final response, whichever handler or error path produced it.
      c.res.headers.set('x-request-id', httpRequestId);
      const seconds = (performance.now() - started) / 1000;
      const route = c.get('route');
      const status = c.res.status;
      metrics.requests.inc({ method: c.req.method, route, status: String(status) });
      metrics.duration.observe({ method: c.req.method, route }, seconds);
      const uid = c.get('principal')?.uid;
      const line = { method: c.req.method, path: c.req.path, route, status, ms: Math.round(seconds * 1000), uid };
      if (route === '/api/v1/ping' || route === '/healthz' || route === '/metrics') c.get('log').debug(line, 'request');
      else c.get('log').info(line, 'request');
    }
  };
}
