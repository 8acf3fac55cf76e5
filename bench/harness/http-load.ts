import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The load generator of `npm run bench -- api`: keep-alive HTTP POSTs in a closed loop (each worker sends its next
 * request when the last is answered) or an open loop (a fixed arrival rate, as wrk2 offers it).
 */

export interface Target {
  port: number;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Result {
  completed: number;
  failed: number;
  seconds: number;
  latencies: number[];
  /** Open loop only: the most requests outstanding at once; a stall of S ms at rate R leaves about R × S. */
  peakOutstanding?: number;
  /** Open loop only: the load generator's own longest event-loop stall, in ms. */
  generatorStallMs?: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

/** Closes the closed loop's keep-alive connections (the open loop closes its own pool when it ends). */
export function closeConnections(): void {
  agent.destroy();
}

function send(target: Target, through = agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent: through,
        host: '127.0.0.1',
        port: target.port,
        path: target.path,
        method: 'POST',
        headers: target.headers,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(target.body);
  });
}

/** `concurrency` workers, each sending its next request when the last one is answered. */
export async function closedLoop(target: Target, concurrency: number, seconds: number): Promise<Result> {
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const at = performance.now();
      const status = await send(target).catch(() => 0);
      if (status === 200) latencies.push(performance.now() - at);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { completed: latencies.length, failed, seconds: (performance.now() - started) / 1000, latencies };
}

/**
 * A fixed arrival rate; latency is measured from when each request was due, not when it left. A stall of this
 * process's own event loop is counted too (requests due during it leave late), so the loop's longest stall is
 * returned beside the figures.
 */
export async function openLoop(target: Target, rate: number, seconds: number, connections: number): Promise<Result> {
  const pool = new Agent({ keepAlive: true, maxSockets: connections });
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const total = Math.floor(rate * seconds);
  let outstanding = 0;
  let peakOutstanding = 0;
  let sendingDone = false;
  const { promise: allAnswered, resolve: drained } = Promise.withResolvers<void>();
  const answered = () => {
    outstanding--;
    if (sendingDone && outstanding === 0) drained();
  };
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    outstanding++;
    peakOutstanding = Math.max(peakOutstanding, outstanding);
    send(target, pool).then(
      (status) => {
        if (status === 200) latencies.push(performance.now() - due);
        else failed++;
        answered();
      },
      () => {
        failed++;
        answered();
      },
    );
  }
  sendingDone = true;
  if (outstanding > 0) await allAnswered;
  loopDelay.disable();
  pool.destroy();
  return {
    completed: latencies.length,
    failed,
    seconds: (performance.now() - started) / 1000,
    latencies,
    peakOutstanding,
    generatorStallMs: loopDelay.max / 1e6,
  };
}
