import { randomUUID } from 'node:crypto';
import type { DeliveryBatch } from '../../schemas/types.generated.ts';
import { benchUser, loadUsers } from '../audience-users.ts';
import { createTcpProxy, type TcpProxy } from '../harness/proxy.ts';
import type { System } from '../harness/system.ts';
import { watchTopic } from '../harness/topics.ts';
import { connectAll, type FaultSystem, settles, sleep, startFaultSystem } from './system.ts';
import type { Fault, FaultContext, FaultResult } from './types.ts';

/**
 * A broadcast to `users` users with `connected` of them holding a WebSocket, and a fault injected once
 * fanout has started emitting. Two views are counted: the pipeline's (every user's ws delivery on
 * `deliver.ws`, by uid) and the connected clients' (frames, by message id). Nothing may be lost in either.
 */
interface BroadcastPlan {
  name: string;
  env?: (context: FaultContext) => Promise<{ env: Record<string, string>; proxy?: TcpProxy }>;
  /** Breaks something and mends it; resolves when the fault is over. */
  inject(system: System, context: FaultContext, proxy: TcpProxy | undefined): Promise<string>;
}

async function runBroadcast(plan: BroadcastPlan, context: FaultContext): Promise<FaultResult> {
  const { scale } = context;
  const prepared = (await plan.env?.(context)) ?? { env: {} };
  // Small pages and batches in the bounded run, so the fault lands while the audience is still being walked.
  const pacing = scale.name === 'bounded' ? { MSGXC_FANOUT_PAGE_SIZE: '10', MSGXC_FANOUT_BATCH_WS: '10' } : {};
  const target: FaultSystem = await startFaultSystem({ ...pacing, ...prepared.env });
  const ledger = await watchTopic<DeliveryBatch>(target.system.config, 'deliver.ws');
  try {
    context.log(`${plan.name}: indexing ${scale.users} users`);
    await loadUsers(target.system.index, scale.users);
    await target.system.index.refresh();
    const uids = Array.from({ length: scale.connected }, (_, i) => benchUser(i, 0).uid);
    const clients = await connectAll(target, uids);
    const marker = `broadcast-${randomUUID()}`;
    const ofMarker = (batch: DeliveryBatch) => batch.msg === marker;
    await target.api.ok('POST', '/api/v1/broadcast', target.admin, { msg: marker, opts: { urgency: 'normal' } });
    await waitFor(() => ledger.values.some(ofMarker), 120_000, 'fanout to start');
    context.log(`${plan.name}: fanout started, injecting`);
    const detail = await plan.inject(target.system, context, prepared.proxy);
    const faultEnded = Date.now();
    const reached = () => new Set(ledger.values.filter(ofMarker).flatMap((b) => b.recipients.map((r) => r.uid)));
    // Whatever has not arrived by then is counted as lost, not thrown: the table is the result.
    await settles(() => reached().size >= scale.users, 600_000);
    await Promise.allSettled(clients.map((client) => client.waitFor((frame) => frame.msg === marker, 120_000)));

    const entries = ledger.values.filter(ofMarker).flatMap((batch) => batch.recipients);
    const distinctUsers = reached().size;
    const frames = clients.flatMap((client) => client.messages.filter((frame) => frame.msg === marker));
    const clientsReached = clients.filter((client) => client.messages.some((frame) => frame.msg === marker)).length;
    const idsPerClient = clients.map((c) => new Set(c.messages.filter((f) => f.msg === marker).map((f) => f.id)).size);
    const firstAfter = ledger.values.find((batch) => ofMarker(batch) && batch.batchedAt > faultEnded)?.batchedAt;
    return {
      fault: plan.name,
      sent: scale.users,
      received: distinctUsers,
      duplicatesBefore: entries.length - distinctUsers + (frames.length - clientsReached),
      duplicatesAfter: idsPerClient.reduce((sum, ids) => sum + Math.max(0, ids - 1), 0),
      lost: scale.users - distinctUsers + (clients.length - clientsReached),
      recoveryMs: firstAfter === undefined ? null : firstAfter - faultEnded,
      note: `${detail}; connected clients reached ${clientsReached}/${clients.length}`,
    };
  } finally {
    await ledger.stop();
    await target.close();
    await prepared.proxy?.stop();
  }
}

async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (!(await settles(predicate, timeoutMs))) throw new Error(`timed out waiting for ${what}`);
}

/** kill -9 of a role's process while the broadcast is expanded, restarted after the outage. */
function killDuringBroadcast(role: 'stages' | 'gateway'): Fault {
  return {
    name: `kill -9 ${role} during a broadcast`,
    run: (context) =>
      runBroadcast(
        {
          name: `kill -9 ${role} during a broadcast`,
          async inject(system) {
            await system.kill(role);
            await sleep(Math.min(context.scale.outageMs, 5_000));
            await system.start(role);
            return `${role} down ${Math.min(context.scale.outageMs, 5_000) / 1000} s`;
          },
        },
        context,
      ),
  };
}

/** The search engine unreachable mid-fanout for longer than the point in time lives. */
const searchDown: Fault = {
  name: 'OpenSearch down mid-fanout',
  run: (context) =>
    runBroadcast(
      {
        name: 'OpenSearch down mid-fanout',
        async env(ctx) {
          const target = new URL(ctx.config.search.url);
          const proxy = await createTcpProxy({ host: target.hostname, port: Number(target.port) });
          return {
            proxy,
            env: {
              MSGXC_SEARCH_URL: `http://127.0.0.1:${proxy.port}`,
              MSGXC_SEARCH_PIT_KEEP_ALIVE: '3s',
            },
          };
        },
        async inject(_system, ctx, proxy) {
          await proxy!.stop();
          await sleep(ctx.scale.outageMs);
          await proxy!.start();
          return `search unreachable ${ctx.scale.outageMs / 1000} s (point in time lives 3 s)`;
        },
      },
      context,
    ),
};

export const broadcastFaults: Fault[] = [killDuringBroadcast('stages'), killDuringBroadcast('gateway'), searchDown];
