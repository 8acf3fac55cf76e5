import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../../stack/index.ts';
import { benchUser, loadUsers } from '../audience-users.ts';
import { createTcpProxy, type TcpProxy } from '../harness/proxy.ts';
import type { System } from '../harness/system.ts';
import { connectAll, type FaultSystem, rssMiB, sendUntilAccepted, settles, sleep, startFaultSystem } from './system.ts';
import type { Fault, FaultContext, FaultResult } from './types.ts';

/**
 * Messages sent one at a time to one connected user while a server goes away and comes back. The sender
 * behaves as a client should: a 503 or 429 is retried after Retry-After, with the same Idempotency-Key.
 * Sent = accepted by the API; received = distinct texts over the socket.
 */
interface SteadyPlan {
  name: string;
  count: number;
  intervalMs: number;
  env?: (context: FaultContext) => Promise<{ env: Record<string, string>; proxy?: TcpProxy }>;
  /** Injected after a third of the messages; resolves when the fault is over. */
  inject?(system: System, context: FaultContext, proxy: TcpProxy | undefined): Promise<string>;
  /** Called every few seconds while sending, for the soak. */
  sample?(system: System): void;
}

async function runSteady(plan: SteadyPlan, context: FaultContext): Promise<FaultResult & { latencies: number[] }> {
  const prepared = (await plan.env?.(context)) ?? { env: {} };
  const target: FaultSystem = await startFaultSystem(prepared.env);
  try {
    await loadUsers(target.system.index, 1);
    await target.system.index.refresh();
    const uid = benchUser(0, 0).uid;
    const [client] = await connectAll(target, [uid]);
    const marker = `steady-${randomUUID()}`;
    const counters = { refused: 0 };
    const accepted: { text: string; at: number }[] = [];
    let fault: Promise<string> | undefined;
    let faultEnded = 0;
    let lastSample = Date.now();
    for (let i = 0; i < plan.count; i++) {
      if (i === Math.floor(plan.count / 3) && plan.inject) {
        fault = plan.inject(target.system, context, prepared.proxy).finally(() => {
          faultEnded = Date.now();
        });
      }
      const text = `${marker}-${i}`;
      const sentAt = Date.now();
      if (await sendUntilAccepted(target, uid, text, counters, Date.now() + 300_000))
        accepted.push({ text, at: sentAt });
      if (plan.sample && Date.now() - lastSample > 5_000) {
        plan.sample(target.system);
        lastSample = Date.now();
      }
      await sleep(plan.intervalMs);
    }
    const detail = (await fault) ?? '';
    const texts = new Set(accepted.map((entry) => entry.text));
    const arrived = () => new Set(client!.messages.filter((f) => texts.has(f.msg ?? '')).map((f) => f.msg)).size;
    await settles(() => arrived() >= texts.size, 180_000);
    const frames = client!.messages.filter((frame) => texts.has(frame.msg ?? ''));
    const idsByText = new Map<string, Set<string>>();
    for (const frame of frames) idsByText.set(frame.msg!, (idsByText.get(frame.msg!) ?? new Set()).add(frame.id));
    const firstAfter = frames.find((frame) => frame.receivedAt > faultEnded)?.receivedAt;
    const sentAt = new Map(accepted.map((entry) => [entry.text, entry.at]));
    const firstFrame = new Map<string, number>();
    for (const frame of frames) if (!firstFrame.has(frame.msg!)) firstFrame.set(frame.msg!, frame.receivedAt);
    return {
      fault: plan.name,
      sent: accepted.length,
      received: arrived(),
      duplicatesBefore: frames.length - arrived(),
      duplicatesAfter: [...idsByText.values()].reduce((sum, ids) => sum + ids.size - 1, 0),
      lost: accepted.length - arrived(),
      recoveryMs: plan.inject && firstAfter !== undefined && faultEnded > 0 ? firstAfter - faultEnded : null,
      note: [detail, `${counters.refused} answers were 503/429 and retried`].filter(Boolean).join('; '),
      latencies: [...firstFrame].map(([text, at]) => at - (sentAt.get(text) ?? at)),
    };
  } finally {
    await target.close();
    await prepared.proxy?.stop();
  }
}

const cassandraDown: Fault = {
  name: 'Cassandra down mid-flow',
  run: (context) =>
    runSteady(
      {
        name: 'Cassandra down mid-flow',
        count: context.scale.steady,
        intervalMs: 100,
        async env(ctx) {
          const [host, port] = ctx.config.cassandra.contactPoints[0]!.split(':');
          const proxy = await createTcpProxy({ host: host!, port: Number(port ?? 9042) });
          return { proxy, env: { MSGXC_CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}` } };
        },
        async inject(_system, ctx, proxy) {
          await proxy!.stop();
          await sleep(ctx.scale.outageMs);
          await proxy!.start();
          return `Cassandra unreachable ${ctx.scale.outageMs / 1000} s`;
        },
      },
      context,
    ),
};

/** Restarts the local stack's Kafka broker (the shared one: only where nobody else is using the stack). */
const brokerRestart: Fault = {
  name: 'Kafka broker restart mid-flow',
  disruptsStack: true,
  run: (context) =>
    runSteady(
      {
        name: 'Kafka broker restart mid-flow',
        count: context.scale.steady,
        intervalMs: 100,
        async inject(_system, ctx) {
          const pidFile = join(ctx.config.stack.stateDir, 'kafka', 'server.pid');
          const pid = Number(readFileSync(pidFile, 'utf8').trim());
          const stoppedAt = Date.now();
          process.kill(-pid, 'SIGTERM');
          await settles(() => !alive(pid), 60_000);
          // Long enough that consumers rejoining meanwhile run out of kafkajs's own retries (its coordinator
          // lookup then fails for good, tulios/kafkajs#1630): the runtime must bring them back itself.
          await sleep(ctx.scale.outageMs);
          await up(ctx.config.stack, { report: () => undefined });
          return `broker down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s (stopped, kept down ${ctx.scale.outageMs / 1000} s, started again)`;
        },
      },
      context,
    ),
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** A steady rate for a long time: memory and latency must stay flat. */
const soak: Fault = {
  name: 'soak',
  async run(context) {
    const rss: { role: string; first: number | null; last: number | null }[] = [];
    const result = await runSteady(
      {
        name: 'soak',
        count: context.scale.soakSeconds * context.scale.soakRate,
        intervalMs: Math.max(0, 1_000 / context.scale.soakRate - 5),
        sample(system) {
          for (const [role, process] of system.processes) {
            const now = rssMiB(process.child.pid);
            const entry = rss.find((row) => row.role === role) ?? { role, first: now, last: now };
            entry.last = now;
            if (!rss.includes(entry)) rss.push(entry);
          }
        },
      },
      context,
    );
    const tenth = Math.max(1, Math.floor(result.latencies.length / 10));
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const drift = rss.map((row) => `${row.role} ${row.first}→${row.last} MiB`).join(', ');
    return {
      ...result,
      note: `${context.scale.soakSeconds} s at ${context.scale.soakRate}/s; RSS ${drift}; latency p50 first tenth ${median(result.latencies.slice(0, tenth))} ms, last tenth ${median(result.latencies.slice(-tenth))} ms`,
    };
  },
};

export const steadyFaults: Fault[] = [cassandraDown, brokerRestart, soak];
export { runSteady };
