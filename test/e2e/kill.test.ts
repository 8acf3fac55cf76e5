import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createApi, eventually, tokenFor } from '../../bench/harness/api.ts';
import { type Client, connectClient } from '../../bench/harness/client.ts';
import { gatewayReady, indexed, pipelineReady } from '../../bench/harness/readiness.ts';
import { createSystem, prepare, roles, type System } from '../../bench/harness/system.ts';

/**
 * Crash safety end to end: while messages are being published over HTTP, every stage process (the
 * pipeline stages, the WebSocket gateway and the scheduler) is killed with SIGKILL — no shutdown, no
 * commits — and started again. The client does what PROTOCOL.md asks of one: it reconnects and catches up
 * with `GET /api/v1/threads/{tid}/messages`. No published message may be lost, and a message that arrives
 * more than once (records redelivered after the crash, a copy over the socket and one from catch-up) must
 * carry the same id every time, so the client can drop the repeat.
 */

const total = 30;
const killAfter = Math.floor(total / 3);

interface CatchUpPage {
  messages: { id: string; msg: string | null }[];
  more: boolean;
}

describe('killing every stage process mid-flow', () => {
  let system: System;
  let api: Api;
  let alice: string;
  let admin: string;
  let bob: Client;
  let probe: Client;
  let tid: string;

  beforeAll(async () => {
    system = await createSystem();
    await prepare(system);
    await Promise.all(roles.map((role) => system.start(role)));
    api = createApi(system.httpUrl);
    alice = await tokenFor('alice');
    admin = await tokenFor('ops', ['admin']);
    const bobToken = await tokenFor('bob');
    const probeToken = await tokenFor('probe');
    tid = (await api.ok<{ tid: string }>('POST', '/api/v1/threads', alice, { name: 'crash test', openSubscribe: true }))
      .body.tid;
    await api.ok('POST', '/api/v1/subscribe', bobToken, { tid });
    await api.ok('PUT', '/api/v1/preferences', probeToken, { channels: [] });
    await indexed(system, 'bob', (doc) => doc.tids.includes(tid));
    await indexed(system, 'probe', () => true);
    bob = await connectClient(system.wsUrl, 'bob', bobToken, { reconnect: true });
    probe = await connectClient(system.wsUrl, 'probe', probeToken, { reconnect: true });
    await pipelineReady(api, admin, probe);
  });

  afterAll(async () => {
    await Promise.allSettled([bob?.close(), probe?.close()]);
    if (system) {
      console.log(`e2e logs: ${system.logDir}`);
      await system.teardown();
    }
  });

  it('loses no message, and a repeat carries the same message id', async () => {
    const bobToken = await tokenFor('bob');
    const texts = Array.from({ length: total }, (_, i) => `kill-${String(i).padStart(3, '0')}`);
    const publish = async (msg: string) => {
      await api.ok('POST', '/api/v1/publish', alice, { tid, msg });
      await new Promise((resolve) => setTimeout(resolve, 100));
    };
    const overSocket = (text: string) => bob.messages.some((frame) => frame.msg === text);

    // Published before the processes die: delivered already, or somewhere between ingest and the socket.
    const inFlight = texts.slice(0, killAfter);
    // Published while no stage runs (the facade keeps taking requests: Kafka holds them).
    const whileDown = texts.slice(killAfter, killAfter * 2);
    // Published once everything runs again.
    const afterRestart = texts.slice(killAfter * 2);

    // Half delivered (likely not all committed yet, so the restarted stages may do them again), then the other
    // half all at once and the kill right after the facade acknowledged them: those are still in the pipeline.
    const settled = inFlight.slice(0, Math.ceil(inFlight.length / 2));
    for (const msg of settled) await publish(msg);
    await Promise.all(settled.map((text) => bob.waitFor((frame) => frame.msg === text, 60_000, text)));
    await Promise.all(
      inFlight.slice(settled.length).map((msg) => api.ok('POST', '/api/v1/publish', alice, { tid, msg })),
    );
    await Promise.all((['stages', 'gateway', 'scheduler'] as const).map((role) => system.kill(role)));
    const beforeKill = inFlight.filter(overSocket).length;
    const welcomesBefore = bob.welcomes;
    for (const msg of whileDown) await publish(msg);

    // The gateway first, so that what the restarted stages deliver finds it consuming (its group is
    // per instance and starts at the latest offset); then everything else.
    await system.start('gateway');
    await eventually('bob to reconnect', async () => (bob.welcomes > welcomesBefore ? true : undefined), {
      timeoutMs: 60_000,
    });
    await gatewayReady(system, bob);
    await Promise.all([system.start('stages'), system.start('scheduler')]);
    for (const msg of afterRestart) await publish(msg);

    // Everything processed after the restart reaches the socket.
    await Promise.all([...whileDown, ...afterRestart].map((text) => bob.waitFor((f) => f.msg === text, 180_000, text)));

    // What was in flight may have been written to the old socket or to none: catch-up has the thread's
    // stored messages (newest 500, more than this test publishes).
    const caughtUp = new Map<string, Set<string>>();
    const catchUp = async () => {
      const page = await api.ok<CatchUpPage>('GET', `/api/v1/threads/${tid}/messages?limit=500`, bobToken);
      for (const message of page.body.messages) {
        const ids = caughtUp.get(message.msg ?? '') ?? new Set<string>();
        ids.add(message.id);
        caughtUp.set(message.msg ?? '', ids);
      }
      return texts.every((text) => caughtUp.has(text)) ? true : undefined;
    };
    await eventually('every message in the thread store', catchUp, { timeoutMs: 120_000, intervalMs: 1_000 });

    expect(texts.filter((text) => !overSocket(text) && !caughtUp.has(text))).toEqual([]);
    const idsByText = new Map<string, Set<string>>(texts.map((text) => [text, new Set(caughtUp.get(text))]));
    for (const frame of bob.messages) idsByText.get(frame.msg ?? '')?.add(frame.id);
    // A repeat (socket twice, socket and catch-up) carries the one id of its message.
    for (const text of texts) expect([...idsByText.get(text)!], `ids of ${text}`).toHaveLength(1);
    // And no message was stored twice under different ids.
    expect(new Set([...idsByText.values()].flatMap((ids) => [...ids])).size).toBe(total);

    const frames = bob.messages.filter((frame) => texts.includes(frame.msg ?? ''));
    const distinct = new Set(frames.map((frame) => frame.id)).size;
    console.log(
      `kill test: ${total} published (${inFlight.length} before the kill, ${beforeKill} of them delivered before it; ` +
        `${whileDown.length} while down, ` +
        `${afterRestart.length} after); ${distinct} reached bob over the socket with ${frames.length - distinct} ` +
        `repeats; ${inFlight.filter((text) => !overSocket(text)).length} of those in flight only through catch-up`,
    );
  }, 600_000);
});
