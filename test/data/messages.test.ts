import { types } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageStore, type MessageStore, type StoredMessage } from '../../pipeline/store/index.ts';
import { createTestKeyspace, type TestKeyspace } from './support.ts';

let keyspace: TestKeyspace;
let messages: MessageStore;

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  messages = createMessageStore(keyspace.client);
});
afterAll(async () => keyspace?.dispose());

const DAY = 86_400_000;
const base = Date.UTC(2026, 4, 10, 22, 0, 0);

function message(tid: string | null, createdAt: number, fields: Partial<StoredMessage> = {}): StoredMessage {
  const messageId = types.TimeUuid.fromDate(new Date(createdAt)).toString();
  return {
    messageId,
    requestId: `req-${messageId}`,
    kind: tid ? 'publish' : 'send',
    tid,
    audience: tid
      ? { kind: 'thread', tid, uids: null, cohort: null, experimentId: null, variant: null }
      : { kind: 'uids', tid: null, uids: ['u1'], cohort: null, experimentId: null, variant: null },
    sender: { kind: 'user', id: 'u-sender' },
    subject: null,
    msg: `hello at ${new Date(createdAt).toISOString()}`,
    opts: '{"badge":1}',
    data: null,
    urgency: 3,
    channels: ['ws', 'webpush'],
    collapseKey: null,
    experimentId: null,
    createdAt,
    scheduledAt: null,
    expiresAt: createdAt + DAY,
    storedAt: createdAt + 5,
    trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: null },
    ...fields,
  };
}

describe('message store: messages', () => {
  it('stores a message idempotently and reads it back whole', async () => {
    const stored = message('t-one', base, { subject: 'Subject', data: '{"k":"v"}', collapseKey: 'c1' });
    await messages.saveMessage(stored);
    await messages.saveMessage(stored);
    expect(await messages.getMessage(stored.messageId)).toEqual(stored);
    expect(await messages.messagesAfter('t-one', null, 10)).toEqual([stored]);

    const direct = message(null, base + 1);
    await messages.saveMessage(direct);
    expect(await messages.getMessage(direct.messageId)).toEqual(direct);
    await expect(messages.getMessage('not-a-uuid')).rejects.toMatchObject({ code: 'INVALID_MESSAGE_ID', status: 400 });
  });

  it('returns the messages after a given one, oldest first, across days, up to the limit', async () => {
    // Ten messages over three UTC days, saved out of order.
    const all = Array.from({ length: 10 }, (_, index) => message('t-chat', base + index * 0.4 * DAY));
    for (const stored of [...all].reverse()) await messages.saveMessage(stored);
    const ids = all.map((m) => m.messageId);

    expect((await messages.messagesAfter('t-chat', ids[0] as string, 100)).map((m) => m.messageId)).toEqual(
      ids.slice(1),
    );
    expect((await messages.messagesAfter('t-chat', ids[2] as string, 4)).map((m) => m.messageId)).toEqual(
      ids.slice(3, 7),
    );
    expect(await messages.messagesAfter('t-chat', ids[9] as string, 10)).toEqual([]);
    // Without `after`: the newest, oldest first.
    expect((await messages.messagesAfter('t-chat', null, 3)).map((m) => m.messageId)).toEqual(ids.slice(7));
    expect((await messages.messagesAfter('t-chat', null, 50)).map((m) => m.messageId)).toEqual(ids);
    await expect(messages.messagesAfter('t-chat', null, 0)).rejects.toMatchObject({ code: 'INVALID_LIMIT' });
  });
});

describe('message store: delivery state', () => {
  it('records each state once, keeps the most advanced one, and counts recipients', async () => {
    const stored = message('t-deliver', base);
    await messages.saveMessage(stored);
    const id = stored.messageId;
    const record = (uid: string, channel: 'ws' | 'webpush', state: string, offset: number) =>
      messages.recordDelivery({ messageId: id, uid, channel, state, at: base + offset, variant: 'b' });

    expect(await record('u1', 'ws', 'queued', 1)).toEqual({ first: true });
    expect(await record('u1', 'ws', 'delivered', 3)).toEqual({ first: true });
    // Out of order and repeated: an "opened" before the late "sent", then the same events again.
    expect(await record('u1', 'ws', 'opened', 5)).toEqual({ first: true });
    expect(await record('u1', 'ws', 'sent', 2)).toEqual({ first: true });
    expect(await record('u1', 'ws', 'delivered', 9)).toEqual({ first: false });
    await messages.recordDeliveries([
      { messageId: id, uid: 'u2', channel: 'ws', state: 'queued', at: base },
      { messageId: id, uid: 'u2', channel: 'webpush', state: 'queued', at: base },
      { messageId: id, uid: 'u2', channel: 'webpush', state: 'failed', at: base + 1, errorCode: 'GONE', error: '410' },
      { messageId: id, uid: 'u1', channel: 'ws', state: 'opened', at: base + 7 },
    ]);

    const [u1] = await messages.deliveryOf(id, 'u1');
    expect(u1).toMatchObject({ channel: 'ws', state: 'opened', variant: 'b' });
    expect(u1?.states).toEqual({
      queued: new Date(base + 1),
      sent: new Date(base + 2),
      delivered: new Date(base + 3),
      opened: new Date(base + 5),
    });
    const u2 = await messages.deliveryOf(id, 'u2');
    expect(u2.map((d) => [d.channel, d.state, d.errorCode])).toEqual([
      ['webpush', 'failed', 'GONE'],
      ['ws', 'queued', null],
    ]);

    expect(await messages.deliverySummary(id)).toEqual({
      messageId: id,
      tid: 't-deliver',
      sender: 'u-sender',
      createdAt: base,
      recipients: 3,
      states: { queued: 3, sent: 1, delivered: 1, opened: 1, failed: 1 },
      channels: {
        ws: { queued: 2, sent: 1, delivered: 1, opened: 1 },
        webpush: { queued: 1, failed: 1 },
      },
    });
    expect(await messages.deliverySummary(types.TimeUuid.now().toString())).toBeNull();
  });

  it('pages every recipient state', async () => {
    const stored = message('t-many', base);
    const uids = Array.from({ length: 120 }, (_, index) => `r-${index}`);
    await messages.recordDeliveries(
      uids.map((uid) => ({ messageId: stored.messageId, uid, channel: 'ws' as const, state: 'sent', at: base })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<MessageStore['deliveriesPage']>> = await messages.deliveriesPage(
        stored.messageId,
        cursor,
        25,
      );
      seen.push(...page.deliveries.map((d) => d.uid));
      cursor = page.next;
    } while (cursor !== null);
    expect(seen.sort()).toEqual([...uids].sort());
    expect((await messages.deliverySummary(stored.messageId))?.recipients).toBe(120);
  });
});

describe('message store: delivery state in bulk', () => {
  it("records a broadcast's events in bulk, each state once, and counts them exactly", async () => {
    const stored = message('t-bulk', base);
    await messages.saveMessage(stored);
    const id = stored.messageId;
    // 2,000 recipients: about 125 a partition, so reads and writes both run in several slices.
    const uids = Array.from({ length: 2000 }, (_, index) => `b-${index}`);
    const event = (uid: string, state: string, at: number) => ({
      messageId: id,
      uid,
      channel: 'ws' as const,
      state,
      at,
    });
    const first = [
      ...uids.map((uid) => event(uid, 'sent', base + 1)),
      ...uids.slice(0, 700).map((uid) => event(uid, 'delivered', base + 2)),
      // Redelivered in the same batch: recorded once, counted once, the first time kept.
      ...uids.slice(0, 50).map((uid) => event(uid, 'sent', base + 9)),
    ];
    expect(await messages.recordDeliveries(first)).toBe(2700);
    // The whole batch again (a retry after a crash before the commit), and ten opened.
    const again = [...first, ...uids.slice(0, 10).map((uid) => event(uid, 'opened', base + 3))];
    expect(await messages.recordDeliveries(again)).toBe(10);

    expect(await messages.deliverySummary(id)).toMatchObject({
      recipients: 2000,
      states: { sent: 2000, delivered: 700, opened: 10 },
      channels: { ws: { sent: 2000, delivered: 700, opened: 10 } },
    });
    const [opened] = await messages.deliveryOf(id, 'b-3');
    expect(opened).toMatchObject({ state: 'opened' });
    expect(opened?.states).toEqual({
      sent: new Date(base + 1),
      delivered: new Date(base + 2),
      opened: new Date(base + 3),
    });
    const [sentOnly] = await messages.deliveryOf(id, 'b-1999');
    expect(sentOnly?.states).toEqual({ sent: new Date(base + 1) });
  });
});

describe('message store: read markers', () => {
  it('only ever moves a read marker forward', async () => {
    const older = message('t-read', base).messageId;
    const newer = message('t-read', base + 60_000).messageId;
    expect(await messages.readMarker('u1', 't-read')).toBeNull();
    await messages.setReadMarker('u1', 't-read', newer);
    await messages.setReadMarker('u1', 't-read', older);
    expect((await messages.readMarker('u1', 't-read'))?.messageId).toBe(newer);
    await messages.setReadMarker('u1', 't-other', older);
    const markers = await messages.readMarkersOf('u1');
    expect(Object.fromEntries(Object.entries(markers).map(([tid, marker]) => [tid, marker.messageId]))).toEqual({
      't-read': newer,
      't-other': older,
    });
  });
});
