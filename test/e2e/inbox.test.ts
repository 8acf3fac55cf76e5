import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchUser, loadUsers } from '../../bench/audience-users.ts';
import { type Api, createApi, eventually, tokenFor } from '../../bench/harness/api.ts';
import { type Client, connectClient } from '../../bench/harness/client.ts';
import { indexed, pipelineReady } from '../../bench/harness/readiness.ts';
import { createSystem, prepare, type Role, roles, type System } from '../../bench/harness/system.ts';

/**
 * The inbox and resume end to end, msgxc as child processes against the real servers:
 * - a client offline while messages of every audience kind (thread, uids, send, broadcast) are sent gets
 *   all of them when it reconnects with the last id it saw — in order, once — and GET /api/v1/inbox says
 *   the same;
 * - issue 9's crash: many users, some connected, a broadcast, SIGKILL of every msgxc process while it is
 *   being delivered, restart: every connected user, reconnecting with back-off and resuming, has the
 *   message, all copies under one id (so exactly once after de-duplication by id).
 * Bounded for `npm test`: 2,000 users in the audience index, 100 of them connected; fanout pages of 100,
 * so the broadcast is several pages long and the kill lands while it is under way.
 */

const users = 2_000;
const connectedUsers = 100;
const testTimeoutMs = 400_000;

interface InboxAnswer {
  messages: { id: string; kind: string; msg: string | null; read: boolean }[];
  next: string | null;
}

describe('inbox and resume end to end', () => {
  let system: System;
  let api: Api;
  let admin: string;
  let alice: string;
  let bobToken: string;
  let tid: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    system = await createSystem({ MSGXC_FANOUT_PAGE_SIZE: '100' });
    await prepare(system);
    await Promise.all(roles.map((role) => system.start(role)));
    api = createApi(system.httpUrl);
    admin = await tokenFor('ops', ['admin']);
    alice = await tokenFor('alice');
    bobToken = await tokenFor('bob');
    const probeToken = await tokenFor('probe');
    tid = (await api.ok<{ tid: string }>('POST', '/api/v1/threads', alice, { name: 'inbox', openSubscribe: true })).body
      .tid;
    await api.ok('POST', '/api/v1/subscribe', bobToken, { tid });
    await api.ok('PUT', '/api/v1/preferences', probeToken, { channels: [] });
    await api.ok('PUT', '/api/v1/preferences', await tokenFor('dave'), { channels: [] });
    await indexed(system, 'bob', (doc) => doc.tids.includes(tid));
    await indexed(system, 'dave', () => true);
    await indexed(system, 'probe', () => true);
    await loadUsers(system.index, users);
    await system.index.refresh();
    const probe = await connectClient(system.wsUrl, 'probe', probeToken);
    clients.push(probe);
    await pipelineReady(api, admin, probe);
  }, testTimeoutMs);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    if (system) {
      console.log(`e2e logs: ${system.logDir}`);
      await system.teardown();
    }
  }, testTimeoutMs);

  it(
    'gives a client that was offline every message of every audience kind on reconnect, in order, once',
    async () => {
      const first = await connectClient(system.wsUrl, 'bob', bobToken, { resume: true });
      clients.push(first);
      await api.ok('POST', '/api/v1/send', admin, { uid: 'bob', msg: 'before going offline' });
      const seen = await first.waitFor((frame) => frame.msg === 'before going offline', 90_000);
      expect(first.cursor).toBe(seen.id);
      await first.close();

      const sent = [
        {
          kind: 'thread',
          msg: 'offline: thread',
          call: () => api.ok('POST', '/api/v1/publish', alice, { tid, msg: 'offline: thread' }),
        },
        {
          kind: 'uids',
          msg: 'offline: multicast',
          call: () => api.ok('POST', '/api/v1/multicast', admin, { uids: ['bob', 'dave'], msg: 'offline: multicast' }),
        },
        {
          kind: 'uids',
          msg: 'offline: send',
          call: () => api.ok('POST', '/api/v1/send', admin, { uid: 'bob', msg: 'offline: send' }),
        },
        {
          kind: 'everyone',
          msg: 'offline: broadcast',
          call: () => api.ok('POST', '/api/v1/broadcast', admin, { msg: 'offline: broadcast' }),
        },
      ];
      // One after the other: message ids are times, so this is also the inbox order.
      for (const message of sent) {
        await message.call();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }

      const inbox = await eventually(
        "every message in bob's inbox",
        async () => {
          const answer = await api.ok<InboxAnswer>('GET', `/api/v1/inbox?after=${seen.id}`, bobToken);
          return answer.body.messages.length >= sent.length ? answer.body : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      expect(inbox.messages.map((message) => [message.kind, message.msg])).toEqual(
        sent.map((message) => [message.kind, message.msg]),
      );

      const back = await connectClient(system.wsUrl, 'bob', bobToken, { resume: true, after: seen.id });
      clients.push(back);
      await eventually('the replay to end', async () =>
        back.others.some((f) => f.type === 'resumed') ? true : undefined,
      );
      expect(back.messages.map((frame) => frame.msg)).toEqual(sent.map((message) => message.msg));
      expect(back.messages.map((frame) => frame.id)).toEqual(inbox.messages.map((message) => message.id));
      expect(back.others.find((frame) => frame.type === 'resumed')).toMatchObject({
        replayed: sent.length,
        cursor: inbox.messages.at(-1)?.id,
      });

      // Live again: a new message arrives once, and nothing replayed came a second time.
      await api.ok('POST', '/api/v1/send', admin, { uid: 'bob', msg: 'back online' });
      await back.waitFor((frame) => frame.msg === 'back online', 90_000);
      expect(back.messages.map((frame) => frame.msg)).toEqual([...sent.map((message) => message.msg), 'back online']);

      // Read state over HTTP: the marker covers the first two.
      await api.ok('PUT', '/api/v1/inbox/read', bobToken, { upTo: inbox.messages[1]!.id });
      const read = await api.ok<InboxAnswer>('GET', `/api/v1/inbox?after=${seen.id}&limit=4`, bobToken);
      expect(read.body.messages.map((message) => message.read)).toEqual([true, true, false, false]);
      expect(read.body.next).toBe(inbox.messages.at(-1)?.id);
      const bad = await api.call<{ error: string }>('GET', '/api/v1/inbox?after=not-an-id', bobToken);
      expect(bad.status).toBe(400);
    },
    testTimeoutMs,
  );

  it(
    'a broadcast killed mid-delivery reaches every connected user exactly once after de-duplication by id',
    async () => {
      const uids = Array.from({ length: connectedUsers }, (_, i) => benchUser(i, 0).uid);
      const connected = await Promise.all(
        uids.map(async (uid) =>
          connectClient(system.wsUrl, uid, await tokenFor(uid), { reconnect: true, resume: true, maxBackoffMs: 5_000 }),
        ),
      );
      clients.push(...connected);
      const msg = 'kill: broadcast to everyone';
      const has = (client: Client) => client.messages.some((frame) => frame.msg === msg);

      await api.ok('POST', '/api/v1/broadcast', admin, { msg });
      // The kill lands once delivery has begun: some users have it, most likely not all.
      await eventually('the broadcast to reach a first user', async () => (connected.some(has) ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 20,
      });
      const killRoles: Role[] = ['stages', 'gateway', 'scheduler', 'http'];
      await Promise.all(killRoles.map((role) => system.kill(role)));
      const beforeKill = connected.filter(has).length;

      await Promise.all(killRoles.map((role) => system.start(role)));
      await eventually(
        'every connected user to have the broadcast',
        async () => (connected.every(has) ? true : undefined),
        { timeoutMs: 240_000, intervalMs: 500 },
      );

      const copies = connected.map((client) => client.messages.filter((frame) => frame.msg === msg));
      const ids = new Set(copies.flatMap((frames) => frames.map((frame) => frame.id)));
      expect(ids.size).toBe(1);
      expect(copies.filter((frames) => new Set(frames.map((frame) => frame.id)).size === 1)).toHaveLength(
        connectedUsers,
      );
      const repeats = copies.reduce((sum, frames) => sum + frames.length - 1, 0);
      console.log(
        `inbox kill test: ${users} users, ${connectedUsers} connected; ${beforeKill} had the broadcast at the kill, ` +
          `${connectedUsers}/${connectedUsers} after the restart; ${repeats} raw repeats (dropped by id)`,
      );
    },
    testTimeoutMs,
  );
});
