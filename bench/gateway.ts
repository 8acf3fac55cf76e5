import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createVerifier } from '../pipeline/auth/index.ts';
import { type Config, parseConfig } from '../pipeline/config/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { deliveryIdOf } from '../pipeline/records/delivery.ts';
import type { DeliveryBatch } from '../schemas/types.generated.ts';
import { startGateway } from '../stages/gateway/gateway.ts';
import { encodeFrame } from '../stages/gateway/protocol.ts';
import { reportFigure } from './results.ts';

/**
 * Gateway bench: N concurrent WebSocket connections (client sockets in a child process), then rounds of
 * one message to every connected user, through two paths over the same sockets in the same run:
 *   raw      — `socket.send(buffer)` of a pre-serialised frame to each socket, in a plain loop;
 *   gateway  — `gateway.deliver(batch)` with ws delivery batches (registry lookup per recipient,
 *              variant frames, slow-consumer check, repeat memory (stages/gateway/recent.ts), `sent` events).
 * A round counts once the child has received every copy, so both paths are measured end to end with
 * the same client cost; a window of rounds in flight keeps the sockets busy without growing buffers.
 *
 *   npm run bench -- gateway [connections=10000] [rounds=64] [batch=500]
 */

const secret = 'bench-gateway-secret-at-least-32-characters';

export interface GatewayBenchResult {
  connections: number;
  rawDeliveriesPerSecond: number;
  gatewayDeliveriesPerSecond: number;
  ratio: number;
  /** Deliveries per second of time spent in the write path alone (raw send loop / deliver calls). */
  rawWritePerSecond: number;
  gatewayWritePerSecond: number;
  peakRssMiB: number;
  clientPeakRssMiB: number;
  rssPerConnectionKiB: number;
  connectSeconds: number;
}

interface PhaseResult {
  deliveries: number;
  /** Wall time until the client had every copy. */
  ms: number;
  /** Time spent inside the synchronous write path (the send loop, or deliver()). */
  busyMs: number;
}

interface Progress {
  received: number;
  waiters: { target: number; resolve: () => void }[];
}

export async function measureGateway(options: { connections?: number; rounds?: number; batchSize?: number } = {}) {
  const connections = options.connections ?? 10_000;
  const rounds = options.rounds ?? 64;
  const batchSize = options.batchSize ?? 500;
  const window = 4;
  const config: Config = parseConfig({
    ...process.env,
    MSGXC_LOG_LEVEL: 'warn',
    MSGXC_JWT_ALGORITHM: 'HS256',
    MSGXC_JWT_SECRET: secret,
    // Heartbeats (10k pings and check-ins) would land in one phase or the other; keep them out of the run.
    MSGXC_WS_HEARTBEAT_MS: '600000',
  });
  const verifier = createVerifier(config);
  let emitted = 0;
  const rssBefore = process.memoryUsage().rss;
  const gateway = await startGateway({
    settings: { ...config.ws, port: 0 },
    log: createLogger(config, 'bench-gateway'),
    authenticate: (token) => verifier.verify(token),
    canRead: async () => false,
    emit: async (records) => {
      emitted += records.length;
    },
  });

  const child = fork(fileURLToPath(new URL('./gateway-clients.ts', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const progress: Progress = { received: 0, waiters: [] };
  child.on('message', (message: { type: string; received?: number }) => {
    if (message.type !== 'progress' || message.received === undefined) return;
    progress.received = message.received;
    progress.waiters = progress.waiters.filter((waiter) => {
      if (progress.received < waiter.target) return true;
      waiter.resolve();
      return false;
    });
  });
  const reached = (target: number) =>
    progress.received >= target
      ? Promise.resolve()
      : new Promise<void>((resolve) => progress.waiters.push({ target, resolve }));

  try {
    const users = Array.from({ length: connections }, (_, index) => `user-${index}`);
    const connectStart = performance.now();
    const connected = await request<{ count: number; failures: number; rss: number }>(child, 'connected', {
      type: 'connect',
      url: gateway.url,
      secret,
      users,
      concurrency: 200,
    });
    const connectSeconds = (performance.now() - connectStart) / 1000;
    if (connected.count !== connections) {
      throw new Error(`only ${connected.count} of ${connections} connected (${connected.failures} failed)`);
    }
    while (gateway.registry.size < connections) await new Promise((resolve) => setTimeout(resolve, 10));
    const rssConnected = process.memoryUsage().rss;
    const sockets = [...gateway.registry.all()].map((connection) => connection.socket);

    const rawRound = (round: Buffer) => {
      for (const socket of sockets) socket.send(round, { binary: false });
    };
    const gatewayRound = (batches: DeliveryBatch[]) => {
      for (const batch of batches) gateway.deliver(batch);
    };

    /** Runs `count` rounds with at most `window` in flight, until the client has received every copy. */
    const phase = async (count: number, prepare: (round: number) => () => void): Promise<PhaseResult> => {
      const base = progress.received;
      const start = performance.now();
      let busyMs = 0;
      for (let round = 0; round < count; round++) {
        const send = prepare(round);
        await reached(base + Math.max(0, round - window + 1) * connections);
        const before = performance.now();
        send();
        busyMs += performance.now() - before;
      }
      await reached(base + count * connections);
      return { deliveries: count * connections, ms: performance.now() - start, busyMs };
    };
    const rawPhase = (label: string, count: number) => {
      const frames = Array.from({ length: count }, (_, round) => encodeFrame(messageFrame(`${label}-${round}`)));
      return phase(count, (round) => () => rawRound(frames[round]!));
    };
    // Batches are built per round before the timer starts, as decoding them would be.
    const gatewayPhase = (count: number) =>
      phase(count, () => {
        const batches = batchesFor(users, batchSize);
        return () => gatewayRound(batches);
      });

    // The machine is shared, so load drifts: run the two paths in short alternating segments and sum
    // each path's deliveries and time, so both see the same mix of quiet and busy moments.
    await rawPhase('warm', window * 2);
    await gatewayPhase(window * 2);
    const segment = Math.max(window * 2, 8);
    const totals = { raw: { deliveries: 0, ms: 0, busyMs: 0 }, gateway: { deliveries: 0, ms: 0, busyMs: 0 } };
    const add = (into: { deliveries: number; ms: number; busyMs: number }, measured: PhaseResult) => {
      into.deliveries += measured.deliveries;
      into.ms += measured.ms;
      into.busyMs += measured.busyMs;
    };
    for (let done = 0; done < rounds; done += segment) {
      add(totals.raw, await rawPhase(`raw${done}`, segment));
      add(totals.gateway, await gatewayPhase(segment));
    }
    const perSecond = (count: number, ms: number) => Math.round(count / (ms / 1000));
    const rawRate = perSecond(totals.raw.deliveries, totals.raw.ms);
    const gatewayRate = perSecond(totals.gateway.deliveries, totals.gateway.ms);
    const result: GatewayBenchResult = {
      connections,
      rawDeliveriesPerSecond: rawRate,
      gatewayDeliveriesPerSecond: gatewayRate,
      ratio: gatewayRate / rawRate,
      rawWritePerSecond: perSecond(totals.raw.deliveries, totals.raw.busyMs),
      gatewayWritePerSecond: perSecond(totals.gateway.deliveries, totals.gateway.busyMs),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      clientPeakRssMiB: connected.rss / 1024 / 1024,
      rssPerConnectionKiB: (rssConnected - rssBefore) / connections / 1024,
      connectSeconds,
    };
    void emitted;
    return result;
  } finally {
    child.send({ type: 'exit' });
    await gateway.close();
  }
}

function request<T>(child: ChildProcess, reply: string, command: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string } & T) => {
      if (message.type !== reply) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
    child.send(command as object);
  });
}

function messageFrame(id: string) {
  return {
    type: 'message' as const,
    id,
    tid: 'bench-thread',
    msg: 'The quarterly numbers are in: revenue up 12%, see the dashboard for details.',
    subject: 'Quarterly update',
    data: { url: '/dashboards/q3', kind: 'report' },
    urgency: 3,
    sentAt: Date.now(),
    variant: null,
  };
}

/** One round: the same message to every user, cut into ws delivery batches as fanout would. */
function batchesFor(users: string[], batchSize: number): DeliveryBatch[] {
  const messageId = randomUUID();
  const template = messageFrame(messageId);
  const batches: DeliveryBatch[] = [];
  for (let start = 0; start < users.length; start += batchSize) {
    batches.push({
      batchId: `${messageId}:ws:${start / batchSize}`,
      channel: 'ws',
      messageId,
      tid: template.tid,
      urgency: template.urgency,
      subject: template.subject,
      msg: template.msg,
      opts: null,
      data: JSON.stringify(template.data),
      collapseKey: null,
      expiresAt: null,
      experimentId: null,
      variants: null,
      recipients: users.slice(start, start + batchSize).map((uid) => ({
        deliveryId: deliveryIdOf(messageId, uid, null),
        uid,
        device: null,
        variant: null,
        locale: null,
      })),
      attempt: 0,
      escalatedFrom: null,
      sender: { kind: 'service', id: 'bench' },
      createdAt: template.sentAt,
      batchedAt: template.sentAt,
      trace: null,
    });
  }
  return batches;
}

export function formatGatewayResult(result: GatewayBenchResult): string {
  const rate = (value: number) => `${Math.round(value).toLocaleString('en-US')} deliveries/s`;
  return [
    `gateway: ${result.connections.toLocaleString('en-US')} concurrent connections (connected in ${result.connectSeconds.toFixed(1)} s)`,
    `  raw ws send loop (pre-serialised frame): ${rate(result.rawDeliveriesPerSecond)}`,
    `  gateway deliver(batch):                  ${rate(result.gatewayDeliveriesPerSecond)}`,
    `  ratio gateway / raw: ${result.ratio.toFixed(2)} end to end; write path alone ${rate(result.gatewayWritePerSecond)} vs ${rate(result.rawWritePerSecond)} (${(result.gatewayWritePerSecond / result.rawWritePerSecond).toFixed(2)})`,
    `  peak RSS: gateway process ${result.peakRssMiB.toFixed(0)} MiB (≈${result.rssPerConnectionKiB.toFixed(1)} KiB per connection), client process ${result.clientPeakRssMiB.toFixed(0)} MiB`,
  ].join('\n');
}

/** Entry for `bench/index.ts`: `npm run bench -- gateway [connections=10000] [rounds=64] [batch=500]`. */
export async function run(_config: Config, args: string[]): Promise<number> {
  const named = new Map(args.map((arg) => [arg.split('=')[0]!, Number(arg.split('=')[1])]));
  const pick = (key: string) => {
    const value = named.get(key);
    return value !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const connections = pick('connections');
  const rounds = pick('rounds');
  const batchSize = pick('batch');
  const result = await measureGateway({
    ...(connections ? { connections } : {}),
    ...(rounds ? { rounds } : {}),
    ...(batchSize ? { batchSize } : {}),
  });
  console.log(formatGatewayResult(result));
  reportFigure({
    bench: 'gateway',
    figure: `deliveries/s, ${result.connections} connections in one process`,
    value: result.gatewayDeliveriesPerSecond,
    unit: 'deliveries/s',
    baseline: { name: 'pre-framed socket.send loop', value: result.rawDeliveriesPerSecond, unit: 'deliveries/s' },
    ratio: result.ratio,
    goal: '≥ 0.8',
    met: result.ratio >= 0.8,
  });
  return 0;
}
