import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createThreadStore,
  mayManage,
  mayPublish,
  maySubscribe,
  SUBSCRIBER_BUCKETS,
  type ThreadStore,
} from '../../pipeline/store/index.ts';
import { createTestKeyspace, type TestKeyspace } from './support.ts';

let keyspace: TestKeyspace;
let threads: ThreadStore;

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  threads = createThreadStore(keyspace.client);
});
afterAll(async () => keyspace?.dispose());

const experiment = {
  id: 'exp-subject',
  variants: [
    { name: 'control', weight: 50, uids: null, subject: null, msg: null, channels: null },
    { name: 'b', weight: 50, uids: ['u-forced'], subject: 'Hello!', msg: 'Hi', channels: ['ws' as const] },
  ],
};

describe('thread store: threads', () => {
  it('creates a thread with every field and reads it by id and by alias', async () => {
    const created = await threads.createThread(
      {
        owner: 'u-owner',
        name: 'Team chat',
        alias: 'team-chat',
        admins: ['u-admin'],
        publishers: ['u-pub'],
        openSubscribe: true,
        openPublish: false,
        channelTypes: ['ws', 'webpush'],
        urgency: 3,
        experiment,
      },
      new Date('2026-02-01T10:00:00Z'),
    );
    expect(created.tid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created).toMatchObject({
      owner: 'u-owner',
      name: 'Team chat',
      alias: 'team-chat',
      admins: ['u-admin'],
      publishers: ['u-pub'],
      openSubscribe: true,
      openPublish: false,
      channelTypes: ['ws', 'webpush'],
      urgency: 3,
      experiment,
      createdAt: new Date('2026-02-01T10:00:00Z'),
      updatedAt: new Date('2026-02-01T10:00:00Z'),
    });
    expect(await threads.getThread(created.tid)).toEqual(created);
    expect(await threads.getThreadByAlias('team-chat')).toEqual(created);
    expect(await threads.getThread('no-such-thread')).toBeNull();
    expect(await threads.getThreadByAlias('no-such-alias')).toBeNull();
  });

  it('keeps aliases unique and tids unique', async () => {
    await threads.createThread({ tid: 't-first', owner: 'u1', alias: 'taken' });
    await expect(threads.createThread({ tid: 't-second', owner: 'u2', alias: 'taken' })).rejects.toMatchObject({
      code: 'ALIAS_TAKEN',
      status: 409,
    });
    await expect(threads.createThread({ tid: 't-first', owner: 'u3', alias: 'fresh' })).rejects.toMatchObject({
      code: 'THREAD_EXISTS',
      status: 409,
    });
    // The failed create gave its alias back.
    expect((await threads.createThread({ tid: 't-third', owner: 'u3', alias: 'fresh' })).alias).toBe('fresh');
  });

  it('updates only the given fields, moves the alias, and refuses bad values', async () => {
    const thread = await threads.createThread({ tid: 't-update', owner: 'u1', alias: 'before', urgency: 2 });
    const updated = await threads.updateThread(thread.tid, { alias: 'after', openPublish: true, experiment });
    expect(updated).toMatchObject({ alias: 'after', openPublish: true, urgency: 2, owner: 'u1', experiment });
    expect(await threads.getThreadByAlias('before')).toBeNull();
    expect((await threads.getThreadByAlias('after'))?.tid).toBe('t-update');
    // The old alias is free again.
    await threads.createThread({ tid: 't-reuse', owner: 'u2', alias: 'before' });

    const cleared = await threads.updateThread(thread.tid, { experiment: null, urgency: null, alias: null });
    expect(cleared).toMatchObject({ experiment: null, urgency: null, alias: null });
    expect(await threads.getThreadByAlias('after')).toBeNull();

    await expect(threads.updateThread('t-missing', { name: 'x' })).rejects.toMatchObject({ code: 'THREAD_NOT_FOUND' });
    await expect(threads.updateThread(thread.tid, { urgency: 5 })).rejects.toMatchObject({ code: 'INVALID_THREAD' });
    await expect(threads.updateThread(thread.tid, { alias: 'before' })).rejects.toMatchObject({ code: 'ALIAS_TAKEN' });
    await expect(
      threads.updateThread(thread.tid, {
        experiment: {
          id: 'e',
          variants: [{ name: 'a', weight: 60, uids: null, subject: null, msg: null, channels: null }],
        },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_THREAD' });
  });

  it('applies the seed permission rules', async () => {
    const thread = await threads.createThread({
      tid: 't-rules',
      owner: 'owner',
      admins: ['admin'],
      publishers: ['publisher'],
    });
    const user = (uid: string) => ({ uid, admin: false, service: false });
    expect(['owner', 'admin', 'publisher'].map((uid) => mayPublish(thread, user(uid)))).toEqual([true, true, true]);
    expect(mayPublish(thread, user('stranger'))).toBe(false);
    expect(mayPublish(thread, { uid: 'svc', admin: false, service: true })).toBe(true);
    expect(maySubscribe(thread, user('publisher'))).toBe(false);
    expect(maySubscribe(thread, user('admin'))).toBe(true);
    expect(maySubscribe({ ...thread, openSubscribe: true }, user('stranger'))).toBe(true);
    expect(mayPublish({ ...thread, openPublish: true }, user('stranger'))).toBe(true);
    expect(mayManage(thread, user('publisher'))).toBe(false);
    expect(mayManage(thread, user('owner'))).toBe(true);
  });
});

describe('thread store: subscriptions', () => {
  it('subscribes idempotently in both directions and unsubscribes', async () => {
    expect(await threads.subscribe('t-sub', 'u1', new Date('2026-03-01T00:00:00Z'))).toBe(true);
    expect(await threads.subscribe('t-sub', 'u1')).toBe(false);
    await threads.subscribe('t-other', 'u1');
    expect(await threads.isSubscribed('t-sub', 'u1')).toBe(true);
    expect(await threads.isSubscribed('t-sub', 'u2')).toBe(false);
    expect(await threads.subscriptionsOf('u1')).toEqual([
      { tid: 't-other', subscribedAt: expect.any(Date) },
      { tid: 't-sub', subscribedAt: new Date('2026-03-01T00:00:00Z') },
    ]);
    expect(await threads.unsubscribe('t-sub', 'u1')).toBe(true);
    expect(await threads.unsubscribe('t-sub', 'u1')).toBe(false);
    expect(await threads.isSubscribed('t-sub', 'u1')).toBe(false);
    expect((await threads.subscriptionsOf('u1')).map((s) => s.tid)).toEqual(['t-other']);
  });

  it('pages through every subscriber exactly once, across buckets', async () => {
    const uids = Array.from({ length: 300 }, (_, index) => `member-${index}`);
    for (let index = 0; index < uids.length; index += 25) {
      await Promise.all(uids.slice(index, index + 25).map((uid) => threads.subscribe('t-big', uid)));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<ThreadStore['subscribersPage']>> = await threads.subscribersPage(
        't-big',
        cursor,
        40,
      );
      expect(page.subscribers.length).toBeLessThanOrEqual(40);
      seen.push(...page.subscribers.map((s) => s.uid));
      cursor = page.next;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBeGreaterThanOrEqual(300 / 40);
    expect(seen.sort()).toEqual([...uids].sort());

    const small = await threads.subscribersPage('t-empty', null, 10);
    expect(small).toEqual({ subscribers: [], next: null });
    await expect(threads.subscribersPage('t-big', 'not-a-cursor', 10)).rejects.toMatchObject({
      code: 'INVALID_PAGE_STATE',
      status: 400,
    });
    expect(SUBSCRIBER_BUCKETS).toBeGreaterThan(1);
  });
});
