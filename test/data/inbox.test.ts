import { types } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BroadcastEntry } from '../../pipeline/store/inbox-broadcasts.ts';
import { createInboxStore, createUserStore, type InboxEntry, type InboxStore } from '../../pipeline/store/index.ts';
import type { Experiment } from '../../schemas/types.generated.ts';
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

/**
 * Broadcasts are written once (migration 012) and merged into each user's inbox when read: every user they
 * addressed sees them in order among their own messages; an opted-out user, a user created after the
 * broadcast and a user an experiment holds out do not.
 */
describe('inbox store: broadcasts written once', () => {
  let space: TestKeyspace;
  let store: InboxStore;
  const at = (offsetMs: number) => types.TimeUuid.fromDate(new Date(now - offsetMs)).toString();
  const hour = 3_600_000;
  /** Broadcasts every 10 h over the last two days and a bit; own rows for dan five hours after each. */
  const broadcastIds = [50, 40, 30, 20, 10].map((hours) => at(hours * hour));
  const ownIds = [45, 35, 25, 15, 5].map((hours) => at(hours * hour));
  const broadcast = (messageId: string, msg: string, experiment: Experiment | null = null): BroadcastEntry => ({
    messageId,
    subject: null,
    msg,
    data: null,
    urgency: 2,
    sentAt: types.TimeUuid.fromString(messageId).getDate().getTime(),
    experiment,
  });
  const texts = (page: { messages: { msg: string | null }[] }) => page.messages.map((message) => message.msg);

  beforeAll(async () => {
    space = await createTestKeyspace();
    store = createInboxStore(space.client);
    for (const [i, id] of broadcastIds.entries()) await store.writeBroadcast(broadcast(id, `b${i}`));
    await store.write(ownIds.map((id, i) => entry('dan', id, `d${i}`, { kind: 'uids' })));
  });
  afterAll(async () => space?.dispose());

  it("merges them with the user's own messages in time order, and pages without repeats", async () => {
    const all = await store.after('dan', at(60 * hour), 100);
    expect(texts(all)).toEqual(['b0', 'd0', 'b1', 'd1', 'b2', 'd2', 'b3', 'd3', 'b4', 'd4']);
    expect(all.messages[0]).toMatchObject({ kind: 'everyone', tid: null, urgency: 2, variant: null });

    const walked: (string | null)[] = [];
    let cursor = at(60 * hour);
    for (let page = await store.after('dan', cursor, 3); page.messages.length > 0; ) {
      walked.push(...texts(page));
      cursor = page.next!;
      page = await store.after('dan', cursor, 3);
    }
    expect(walked).toEqual(texts(all));
    expect(texts(await store.latest('dan', 3))).toEqual(['d3', 'b4', 'd4']);
    // A user with no rows of their own still has every broadcast.
    expect(texts(await store.latest('newcomer-without-profile', 2))).toEqual(['b3', 'b4']);
  });

  it('writes a broadcast once however often fanout redoes it', async () => {
    await store.writeBroadcast(broadcast(broadcastIds[0]!, 'b0'));
    expect(texts(await store.after('solo', at(60 * hour), 100))).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
  });

  it('leaves them out for a user who opted out or did not exist yet', async () => {
    const users = createUserStore(space.client);
    await users.setPreferences('eve', ['~'], undefined, new Date(now - 100 * hour));
    expect(texts(await store.after('eve', at(60 * hour), 100))).toEqual([]);
    await users.ensureUser('fay', new Date(now - 25 * hour));
    expect(texts(await store.after('fay', at(60 * hour), 100))).toEqual(['b3', 'b4']);
  });

  it("gives each user their experiment variant's text and nothing to those held out, paging past them", async () => {
    const variant = (name: string, uids: string[]) => ({
      name,
      weight: 0,
      uids,
      subject: `s-${name}`,
      msg: `m-${name}`,
      channels: null,
    });
    const experiment: Experiment = { id: 'exp-1', variants: [variant('A', ['gus']), variant('B', ['hal'])] };
    const keyspaceOfItsOwn = await createTestKeyspace();
    try {
      const own = createInboxStore(keyspaceOfItsOwn.client);
      // Five broadcasts ivy is held out of, then one for everyone, all within the last hour (one day or two).
      const ids = [50, 40, 30, 20, 10, 5].map((minutes) => at(minutes * 60_000));
      for (const id of ids.slice(0, 5)) await own.writeBroadcast(broadcast(id, 'default', experiment));
      await own.writeBroadcast(broadcast(ids[5]!, 'for everyone'));
      const gus = await own.after('gus', at(hour), 100);
      expect(gus.messages).toHaveLength(6);
      expect(gus.messages[0]).toMatchObject({ subject: 's-A', msg: 'm-A', variant: 'A' });
      expect((await own.after('hal', at(hour), 1)).messages[0]).toMatchObject({ msg: 'm-B', variant: 'B' });
      expect(texts(await own.after('ivy', at(hour), 2))).toEqual(['for everyone']);
    } finally {
      await keyspaceOfItsOwn.dispose();
    }
  });
});
