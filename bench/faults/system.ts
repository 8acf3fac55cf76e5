import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Api, createApi, tokenFor } from '../harness/api.ts';
import { type Client, connectClient } from '../harness/client.ts';
import { pipelineReady } from '../harness/readiness.ts';
import { createSystem, prepare, roles, type System } from '../harness/system.ts';

/** A deployment of msgxc as separate processes for one fault, with an admin token and a probe path checked. */
export interface FaultSystem {
  system: System;
  api: Api;
  admin: string;
  clients: Client[];
  close(): Promise<void>;
}

export async function startFaultSystem(extra: Record<string, string>): Promise<FaultSystem> {
  const system = await createSystem(extra);
  const clients: Client[] = [];
  const close = async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await system.teardown();
  };
  try {
    await prepare(system);
    for (const role of roles) await system.start(role);
    const api = createApi(system.httpUrl);
    const admin = await tokenFor('fault-admin', ['admin']);
    return { system, api, admin, clients, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Opens a WebSocket client per uid (their audience documents must exist already) that reconnects and resumes
 * from the last message it saw, as PROTOCOL.md asks of clients: without `resume`, a frame the restarted gateway
 * consumed before the client came back is not replayed.
 */
export async function connectAll(target: FaultSystem, uids: string[]): Promise<Client[]> {
  for (const uid of uids) {
    target.clients.push(
      await connectClient(target.system.wsUrl, uid, await tokenFor(uid), { reconnect: true, resume: true }),
    );
  }
  await pipelineReady(target.api, target.admin, target.clients[0]!);
  return target.clients;
}

/** Sends `msg` to one user, riding out 503/429 the way a client should: wait Retry-After, try again. */
export async function sendUntilAccepted(
  target: FaultSystem,
  uid: string,
  msg: string,
  counters: { refused: number },
  giveUpAt: number,
): Promise<boolean> {
  const idempotencyKey = randomUUID();
  for (;;) {
    const answer = await target.api
      .call('POST', '/api/v1/send', target.admin, { uid, msg }, { 'idempotency-key': idempotencyKey })
      .catch(() => ({ status: 0, headers: new Headers(), body: null }));
    if (answer.status >= 200 && answer.status < 300) return true;
    if (answer.status !== 0 && answer.status !== 503 && answer.status !== 429) {
      throw new Error(`send answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    counters.refused++;
    if (Date.now() > giveUpAt) return false;
    const retryAfter = Number(answer.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, Math.min(5, Math.max(0.2, retryAfter)) * 1_000));
  }
}

/** Resident memory of a process in MiB, from /proc (Linux). */
export function rssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `predicate` holds (true) or the time is up (false). */
export async function settles(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
