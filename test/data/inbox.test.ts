import { types } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInboxStore, type InboxEntry, type InboxStore } from '../../pipeline/store/index.ts';
import { createTestKeyspace, type TestKeyspace } from './support.ts';

/** The inbox store against a migrated keyspace of its own (migration 008). */

let keyspace: TestKeyspace;
let inbox: InboxStore;
const now = Date.now();
/** Message ids over the last three days, oldest first: the store must read across day partitions. */
const ids = Array.from({ length: 12 }, (_, i) =>
  types.TimeUuid.fromDate(new Date(now - (11 - i) * 6 * 3_600_000)).toString(),
);

const entry = (uid: string, messageId: string, msg: string, parts: Partial<InboxEntry> = {}): InboxEntry => ({
  uid,
  messageId,
  kind: 'everyone',
  tid: null,
  subject: null,
  msg,
  data: '{"k":1}',
  urgency: 3,
  sentAt: types.TimeUuid.fromString(messageId).getDate().getTime(),
  variant: null,
  ...parts,
});

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  inbox = createInboxStore(keyspace.client);
});
afterAll(async () => keyspace?.dispose());

describe('inbox store', () => {
  it('returns what follows a cursor, oldest first, across days, and pages with `next`', async () => {
    await inbox.write(ids.map((id, i) => entry('ann', id, `a${i}`)));
    await inbox.write([entry('bob', ids[3]!, 'not ann', { kind: 'uids' })]);

    const all = await inbox.after('ann', ids[0]!, 100);
    expect(all.messages.map((message) => message.msg)).toEqual(ids.slice(1).map((_, i) => `a${i + 1}`));
    expect(all.next).toBe(ids.at(-1));

    const first = await inbox.after('ann', ids[2]!, 4);
    expect(first.messages.map((message) => message.messageId)).toEqual(ids.slice(3, 7));
    const second = await inbox.after('ann', first.next!, 100);
    expect(second.messages.map((message) => message.messageId)).toEqual(ids.slice(7));
    expect(await inbox.after('ann', ids.at(-1)!, 10)).toEqual({ messages: [], next: ids.at(-1) });

    expect(first.messages[0]).toEqual({
      messageId: ids[3],
      kind: 'everyone',
      tid: null,
      subject: null,
      msg: 'a3',
      data: '{"k":1}',
      urgency: 3,
      sentAt: types.TimeUuid.fromString(ids[3]!).getDate().getTime(),
      variant: null,
    });
  });

  it('holds one row per user and message however often fanout writes it', async () => {
    const repeat = entry('cat', ids[5]!, 'once', { tid: 't-1', kind: 'thread' });
    await inbox.write([repeat]);
    await inbox.write([repeat, repeat]);
    const page = await inbox.after('cat', ids[0]!, 100);
    expect(page.messages.map((message) => message.msg)).toEqual(['once']);
  });

  it('gives the newest messages without a cursor, oldest first', async () => {
    const latest = await inbox.latest('ann', 3);
    expect(latest.messages.map((message) => message.messageId)).toEqual(ids.slice(-3));
    expect((await inbox.latest('nobody', 5)).messages).toEqual([]);
  });

  it('keeps a read marker that only moves forward', async () => {
    expect(await inbox.readUpTo('ann')).toBeNull();
    await inbox.markRead('ann', ids[6]!);
    await inbox.markRead('ann', ids[4]!);
    expect(await inbox.readUpTo('ann')).toBe(ids[6]);
    await inbox.markRead('ann', ids[8]!);
    expect(await inbox.readUpTo('ann')).toBe(ids[8]);
  });

  it('refuses a cursor that is not a message id', async () => {
    await expect(inbox.after('ann', 'not-a-uuid', 5)).rejects.toMatchObject({ code: 'INVALID_CURSOR', status: 400 });
  });
});
