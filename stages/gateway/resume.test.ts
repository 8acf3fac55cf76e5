import { types } from 'cassandra-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { wsBatch } from '../../bench/harness/batches.ts';
import { compareInboxCursors, type InboxMessage, type InboxPage } from '../../pipeline/store/inbox.ts';
import { connect, open, signToken, startTestGateway, type TestGateway } from '../../test/support/gateway.ts';
import type { InboxReader } from './resume.ts';

/**
 * Resume with the gateway core and real sockets; the inbox here is a list in memory with the store's
 * contract (after a cursor, oldest first), which the integration and e2e tests replace with Cassandra.
 * `hold` keeps the replay's first read waiting, so live frames arrive while the replay is under way.
 */

const base = Date.parse('2026-11-01T10:00:00Z');
const ids = Array.from({ length: 600 }, (_, i) => types.TimeUuid.fromDate(new Date(base + i * 1000)).toString());

function inboxOf(messages: Map<string, InboxMessage[]>, options: { failing?: boolean } = {}) {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding = false;
  const reads: string[] = [];
  const reader: InboxReader = {
    async after(uid, cursor, limit): Promise<InboxPage> {
      reads.push(cursor ?? '');
      if (holding) await held;
      if (options.failing) throw new Error('Cassandra is down');
      const list = (messages.get(uid) ?? []).filter(
        (message) => cursor === null || compareInboxCursors(message.messageId, cursor) > 0,
      );
      const page = list.slice(0, limit);
      return { messages: page, next: page.at(-1)?.messageId ?? cursor };
    },
  };
  return {
    reader,
    reads,
    hold: () => {
      holding = true;
    },
    release: () => release(),
  };
}

const stored = (messageId: string, msg: string): InboxMessage => ({
  messageId,
  kind: 'uids',
  tid: null,
  subject: null,
  msg,
  data: null,
  urgency: 3,
  sentAt: base,
  variant: null,
});

describe('gateway resume from the inbox', () => {
  let running: TestGateway | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('replays what follows the cursor in order, then the live frames held meanwhile, each id once', async () => {
    const messages = new Map([['alice', ids.slice(0, 5).map((id, i) => stored(id, `m${i + 1}`))]]);
    const inbox = inboxOf(messages);
    inbox.hold();
    running = await startTestGateway({ inbox: inbox.reader });
    const client = await open(running.gateway.url, await signToken('alice'), { resume: ids[1]! });
    await client.next('welcome');

    // Arrive while the replay waits on the inbox: m4 is in it already, m6 is not yet.
    const m4 = running.gateway.deliver(wsBatch([{ uid: 'alice' }], { messageId: ids[3]!, msg: 'm4' }));
    const m6 = running.gateway.deliver(wsBatch([{ uid: 'alice' }], { messageId: ids[5]!, msg: 'm6' }));
    expect([m4.events.length, m6.events.length]).toEqual([1, 1]);
    inbox.release();

    const frames: Record<string, unknown>[] = [];
    for (let i = 0; i < 5; i++) frames.push(await client.next());
    expect(frames.map((frame) => (frame.type === 'message' ? frame.msg : frame.type))).toEqual([
      'm3',
      'm4',
      'm5',
      'resumed',
      'm6',
    ]);
    expect(frames[3]).toEqual({ type: 'resumed', replayed: 3, cursor: ids[4] });
    expect(frames[0]).toMatchObject({ type: 'message', id: ids[2], tid: null, msg: 'm3', urgency: 3, sentAt: base });

    // Delivered again (a batch read twice): not written again.
    running.gateway.deliver(wsBatch([{ uid: 'alice' }], { messageId: ids[5]!, msg: 'm6' }));
    running.gateway.deliver(wsBatch([{ uid: 'alice' }], { messageId: ids[6]!, msg: 'm7' }));
    expect(await client.next('message')).toMatchObject({ msg: 'm7' });
    expect(client.frames).toEqual([]);
    client.socket.close();
  });

  it('replays a long inbox page by page, in order', async () => {
    const messages = new Map([['bob', ids.map((id, i) => stored(id, `n${i}`))]]);
    const inbox = inboxOf(messages);
    running = await startTestGateway({ inbox: inbox.reader });
    const client = await open(running.gateway.url, await signToken('bob'), { resume: ids[9]! });
    await client.next('welcome');
    const resumed = await client.next('resumed');
    expect(resumed).toEqual({ type: 'resumed', replayed: 590, cursor: ids.at(-1) });
    const replayed = client.frames.filter((frame) => frame.type === 'message').map((frame) => frame.id);
    expect(replayed).toEqual(ids.slice(10));
    expect(inbox.reads.length).toBeGreaterThan(2);
    client.socket.close();
  });

  it('replays nothing without a cursor: a first connection starts live', async () => {
    const inbox = inboxOf(new Map([['carol', [stored(ids[0]!, 'old')]]]));
    running = await startTestGateway({ inbox: inbox.reader });
    const client = await open(running.gateway.url, await signToken('carol'));
    await client.next('welcome');
    running.gateway.deliver(wsBatch([{ uid: 'carol' }], { messageId: ids[1]!, msg: 'live' }));
    expect(await client.next()).toMatchObject({ type: 'message', msg: 'live' });
    expect(inbox.reads).toEqual([]);
    client.socket.close();
  });

  it('refuses a cursor that is not a message id with 400 before upgrading', async () => {
    running = await startTestGateway({ inbox: inboxOf(new Map()).reader });
    const upgrade = await connect(`${running.gateway.url}?resume=not-a-message-id`, {
      token: await signToken('dave'),
    });
    expect(upgrade.ok).toBe(false);
    if (upgrade.ok) return;
    expect(upgrade.status).toBe(400);
    expect(JSON.parse(upgrade.body)).toMatchObject({ error: 'BAD_CURSOR' });
  });

  it('tells the client and closes with 1013 when the inbox cannot be read, so it resumes again later', async () => {
    running = await startTestGateway({ inbox: inboxOf(new Map(), { failing: true }).reader });
    const client = await open(running.gateway.url, await signToken('erin'), { resume: ids[0]! });
    await client.next('welcome');
    expect(await client.next('error')).toMatchObject({ code: 'UNAVAILABLE' });
    expect(await client.closed).toEqual({ code: 1013, reason: 'try again later' });
  });
});
