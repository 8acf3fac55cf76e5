import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createApi, eventually, tokenFor } from '../../bench/harness/api.ts';
import { type Client, connectClient, type MessageFrame } from '../../bench/harness/client.ts';
import { indexed, pipelineReady } from '../../bench/harness/readiness.ts';
import { createSystem, prepare, roles, type System } from '../../bench/harness/system.ts';
import { type TopicWatch, watchTopic } from '../../bench/harness/topics.ts';
import type { DeliveryEvent } from '../../schemas/types.generated.ts';

/**
 * The core flow end to end, against the real servers and msgxc as child processes (stages, gateway,
 * scheduler, HTTP facade): requests made over HTTP reach exactly the WebSocket clients they should,
 * acknowledgements are recorded, and scheduling holds a message until its time (or for ever, once cancelled).
 *
 * The cast (uids are per run: the keyspace, topics and index are this file's own):
 *   alice  owns the thread and publishes to it
 *   bob    subscribed, with two connections (each gets its copy)
 *   carol  subscribed, opted out of everything (preferences "~")
 *   erin   subscribed, muted the thread (thread preferences "~")
 *   dave   not subscribed
 *   probe  used to learn when the pipeline is ready
 * "Reaches exactly its users" is checked at the end, once a barrier broadcast has reached everyone who
 * takes messages: every client's received messages must be what the ledger says, no more, no less.
 */

/** Above the sum of the waits in one test: the machine is shared and slow at times; nothing here is a timing assertion. */
const testTimeoutMs = 300_000;
const cast = ['alice', 'bob', 'carol', 'dave', 'erin', 'probe'] as const;
type Uid = (typeof cast)[number];

describe('msgxc end to end', () => {
  let system: System;
  let api: Api;
  let events: TopicWatch<DeliveryEvent> | undefined;
  const tokens = {} as Record<Uid | 'admin', string>;
  const clients = {} as Record<Uid, Client>;
  /** bob's second connection (another tab or device). */
  let bobAgain: Client;
  let tid: string;
  /** Message text → the users that must receive it (texts are unique per message). */
  const ledger = new Map<string, Set<Uid>>();

  const expectMessage = (msg: string, to: Uid[]) => ledger.set(msg, new Set(to));
  const received = (uid: Uid, msg: string, label = msg) =>
    clients[uid].waitFor((frame) => frame.msg === msg, 90_000, label);
  const eventsOf = (messageId: string) => (events?.values ?? []).filter((event) => event.messageId === messageId);

  beforeAll(async () => {
    system = await createSystem();
    await prepare(system);
    await Promise.all(roles.map((role) => system.start(role)));
    api = createApi(system.httpUrl);
    events = await watchTopic<DeliveryEvent>(system.config, 'events');
    for (const uid of cast) tokens[uid] = await tokenFor(uid);
    tokens.admin = await tokenFor('ops', ['admin']);

    const thread = await api.ok<{ tid: string }>('POST', '/api/v1/threads', tokens.alice, {
      name: 'e2e standup',
      openSubscribe: true,
    });
    tid = thread.body.tid;
    for (const uid of ['bob', 'carol', 'erin'] as const) {
      await api.ok('POST', '/api/v1/subscribe', tokens[uid], { tid });
    }
    await api.ok('PUT', '/api/v1/preferences', tokens.carol, { channels: '~' });
    await api.ok('PUT', '/api/v1/preferences', tokens.erin, { tid, channels: '~' });
    // Users come into the audience index through what they do; these three just state "no restriction".
    for (const uid of ['alice', 'dave', 'probe'] as const) {
      await api.ok('PUT', '/api/v1/preferences', tokens[uid], { channels: [] });
    }
    await indexed(system, 'alice', () => true);
    await indexed(system, 'dave', () => true);
    await indexed(system, 'probe', () => true);
    await indexed(system, 'bob', (doc) => doc.tids.includes(tid));
    await indexed(system, 'carol', (doc) => doc.tids.includes(tid) && doc.optedOut);
    await indexed(system, 'erin', (doc) => doc.tids.includes(tid) && doc.threadPreferences.some((p) => p.tid === tid));

    for (const uid of cast) clients[uid] = await connectClient(system.wsUrl, uid, tokens[uid]);
    bobAgain = await connectClient(system.wsUrl, 'bob', tokens.bob);
    await pipelineReady(api, tokens.admin, clients.probe);
  });

  afterAll(async () => {
    await Promise.allSettled([...Object.values(clients), bobAgain].map((client) => client?.close()));
    await events?.stop();
    if (system) {
      console.log(`e2e logs: ${system.logDir}`);
      await system.teardown();
    }
  }, testTimeoutMs);

  it(
    'delivers a published message to subscribers, not to the unsubscribed, opted-out or muted',
    async () => {
      const msg = 'publish: standup in 5';
      expectMessage(msg, ['bob']);
      const answer = await api.ok('POST', '/api/v1/publish', tokens.alice, { tid, msg, opts: { subject: 'Team' } });
      expect(answer.body).toBe(true);
      const frame = await received('bob', msg);
      expect(frame).toMatchObject({ tid, msg, subject: 'Team', urgency: 3 });
      const copy = await bobAgain.waitFor((other) => other.msg === msg, 90_000, `${msg} on bob's second socket`);
      expect(copy.id).toBe(frame.id);
      // Fanout says why erin got nothing: she muted the thread. (Opted-out users are filtered out by the
      // audience query itself, and dave is no subscriber: neither is a recipient to drop.)
      const drops = await eventually('fanout to record its drops', async () => {
        const dropped = eventsOf(frame.id).filter((event) => event.type === 'dropped');
        return dropped.length > 0 ? dropped : undefined;
      });
      expect(drops.map((event) => event.reason)).toEqual(['THREAD_MUTED']);
    },
    testTimeoutMs,
  );

  it(
    'multicast, send and broadcast reach their users',
    async () => {
      const multicast = 'multicast: build is green';
      const send = 'send: your report is ready';
      const broadcast = 'broadcast: maintenance tonight';
      expectMessage(multicast, ['bob', 'dave']);
      expectMessage(send, ['erin']);
      expectMessage(broadcast, ['alice', 'bob', 'dave', 'erin', 'probe']);
      await api.ok('POST', '/api/v1/multicast', tokens.admin, { msg: multicast, uids: ['bob', 'carol', 'dave'] });
      await api.ok('POST', '/api/v1/send', tokens.admin, { msg: send, uid: 'erin' });
      await api.ok('POST', '/api/v1/broadcast', tokens.admin, { msg: broadcast });
      for (const [msg, uids] of [multicast, send, broadcast].map((text) => [text, ledger.get(text)!] as const)) {
        await Promise.all([...uids].map((uid) => received(uid, msg, `${msg} at ${uid}`)));
      }
      // A uid list keeps its opted-out users in the query, so carol's drop is on record.
      const multicastId = (await received('bob', multicast)).id;
      const drops = await eventually('fanout to record the multicast drop', async () => {
        const dropped = eventsOf(multicastId).filter((event) => event.type === 'dropped');
        return dropped.length > 0 ? dropped : undefined;
      });
      expect(drops.map((event) => event.reason)).toEqual(['OPTED_OUT']);
    },
    testTimeoutMs,
  );

  it(
    'records acknowledgements from a ws ack frame and from POST /api/v1/ack',
    async () => {
      const frame = await received('bob', 'publish: standup in 5');
      clients.bob.send({ type: 'ack', messageId: frame.id, status: 'delivered', tid, ref: 'ack-1' });
      const answer = await api.ok('POST', '/api/v1/ack', tokens.bob, {
        messageId: frame.id,
        channel: 'ws',
        status: 'opened',
        tid,
      });
      expect(answer.body).toBe(true);
      const summary = await eventually(
        'the delivery summary to show sent, delivered and opened',
        async () => {
          const answer = await api.ok<{ states: Record<string, number> }>(
            'GET',
            `/api/v1/messages/${frame.id}`,
            tokens.alice,
          );
          const { states } = answer.body;
          return states.sent && states.delivered && states.opened ? answer.body : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(summary).toMatchObject({ messageId: frame.id, tid, sender: 'alice' });
      expect(summary.states).toMatchObject({ sent: 1, delivered: 1, opened: 1 });
      const acked = eventsOf(frame.id).filter((event) => event.uid === 'bob' && event.source === 'ack');
      expect(acked.map((event) => event.type).sort()).toEqual(['delivered', 'opened']);
      expect(clients.bob.others.filter((other) => other.type === 'error')).toEqual([]);
    },
    testTimeoutMs,
  );

  it(
    'holds a scheduled message until its time and never sends a cancelled one',
    async () => {
      const now = Date.now();
      const cancelled = 'scheduled: cancelled before its time';
      const kept = 'scheduled: on time';
      const cancelAt = now + 4_000;
      const keepAt = now + 8_000;
      expectMessage(kept, ['bob']);
      expectMessage(cancelled, []);
      const toCancel = await api.ok('POST', '/api/v1/publish', tokens.alice, {
        tid,
        msg: cancelled,
        opts: { scheduledAt: cancelAt },
      });
      const requestId = toCancel.headers.get('msgxc-request-id');
      expect(requestId).toBeTruthy();
      await api.ok('POST', '/api/v1/publish', tokens.alice, { tid, msg: kept, opts: { scheduledAt: keepAt } });
      // The cancel needs the request held in the schedule first (prioritize put it there).
      await eventually('prioritize to hold the request', async () =>
        (events?.values ?? []).some((event) => event.requestId === requestId && event.type === 'scheduled')
          ? true
          : undefined,
      );
      const cancel = await api.call('DELETE', `/api/v1/scheduled/${requestId}`, tokens.alice);
      expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);

      const frame = await received('bob', kept);
      expect(frame.receivedAt).toBeGreaterThanOrEqual(keepAt);
      expect((events?.values ?? []).some((event) => event.requestId === requestId && event.type === 'cancelled')).toBe(
        true,
      );
      // Due earlier than the kept one, so it would have been re-injected first.
      for (const uid of cast) expect(clients[uid].messages.some((m) => m.msg === cancelled)).toBe(false);
    },
    testTimeoutMs,
  );

  it(
    'every message reached exactly its users, and a message has one id everywhere',
    async () => {
      const barrier = 'broadcast: barrier';
      expectMessage(barrier, ['alice', 'bob', 'dave', 'erin', 'probe']);
      await api.ok('POST', '/api/v1/broadcast', tokens.admin, { msg: barrier });
      await Promise.all([...ledger.get(barrier)!].map((uid) => received(uid, barrier, `barrier at ${uid}`)));

      const isProbe = (frame: MessageFrame) => frame.msg?.startsWith('probe-') ?? false;
      for (const uid of cast) {
        const got = new Set(
          clients[uid].messages.filter((frame) => !isProbe(frame)).map((frame) => frame.msg ?? '(no text)'),
        );
        const due = new Set([...ledger].filter(([, to]) => to.has(uid)).map(([msg]) => msg));
        expect([...got].sort(), `messages at ${uid}`).toEqual([...due].sort());
      }
      const onBoth = (client: Client) => [...new Set(client.messages.map((frame) => frame.msg))].sort();
      expect(onBoth(bobAgain), "bob's second socket").toEqual(onBoth(clients.bob));
      const idsByText = new Map<string, Set<string>>();
      for (const frame of [...Object.values(clients), bobAgain].flatMap((client) => client.messages)) {
        const ids = idsByText.get(frame.msg ?? '') ?? new Set<string>();
        ids.add(frame.id);
        idsByText.set(frame.msg ?? '', ids);
      }
      for (const [text, ids] of idsByText) expect(ids.size, `ids of "${text}"`).toBe(1);
    },
    testTimeoutMs,
  );
});
