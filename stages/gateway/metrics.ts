import { Counter, register as defaultRegistry, Gauge, type Registry } from 'prom-client';

/**
 * The gateway's Prometheus metrics. Several gateways may run in one process (tests, benches), so the
 * metrics are created once per registry and shared; the connections gauge is moved by inc/dec.
 */
export interface GatewayMetrics {
  connections: Gauge;
  upgrades: Counter<'outcome'>;
  framesIn: Counter<'type'>;
  framesOut: Counter<'type'>;
  deliveries: Counter<'path'>;
  closes: Counter<'reason'>;
}

const cache = new WeakMap<Registry, GatewayMetrics>();

export function gatewayMetrics(registry: Registry = defaultRegistry): GatewayMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: GatewayMetrics = {
    connections: new Gauge({
      name: 'msgxc_ws_connections',
      help: 'Open WebSocket connections on this process',
      registers,
    }),
    upgrades: new Counter({
      name: 'msgxc_ws_upgrades_total',
      help: 'WebSocket upgrade attempts by outcome (accepted, unauthenticated, forbidden, bad_request, unavailable)',
      labelNames: ['outcome'],
      registers,
    }),
    framesIn: new Counter({
      name: 'msgxc_ws_frames_in_total',
      help: 'Client frames received, by frame type (invalid for frames that failed to parse)',
      labelNames: ['type'],
      registers,
    }),
    framesOut: new Counter({
      name: 'msgxc_ws_frames_out_total',
      help: 'Frames written to clients, by frame type',
      labelNames: ['type'],
      registers,
    }),
    deliveries: new Counter({
      name: 'msgxc_ws_deliveries_total',
      help: 'Message copies written to sockets: recipient (user addressed by the batch) or thread (live subscription)',
      labelNames: ['path'],
      registers,
    }),
    closes: new Counter({
      name: 'msgxc_ws_closes_total',
      help: 'Connections closed by the gateway, by reason (slow_consumer, heartbeat, garbage, token_expired, shutdown)',
      labelNames: ['reason'],
      registers,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
