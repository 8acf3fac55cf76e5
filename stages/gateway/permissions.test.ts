import { describe, expect, it } from 'vitest';
import type { Thread } from '../../pipeline/store/index.ts';
import { thread as testThread } from '../../test/support/store.ts';
import { createThreadReadPermission, mayReadThread } from './permissions.ts';

const thread = (fields: Partial<Thread> = {}): Thread =>
  testThread({ tid: 't1', owner: 'owner', admins: ['moderator'], publishers: ['writer'], ...fields });

describe('thread read permission', () => {
  it('lets the owner, thread admins and publishers read a closed thread, and no one else', () => {
    for (const uid of ['owner', 'moderator', 'writer']) expect(mayReadThread(thread(), uid)).toBe(true);
    expect(mayReadThread(thread(), 'stranger')).toBe(false);
    expect(mayReadThread(thread({ openSubscribe: true }), 'stranger')).toBe(true);
  });

  it('asks the subscriptions only when the thread itself does not let the user in, and refuses unknown threads', async () => {
    const asked: string[] = [];
    const canRead = createThreadReadPermission({
      getThread: async (tid) => (tid === 't1' ? thread() : null),
      isSubscribed: async (_tid, uid) => {
        asked.push(uid);
        return uid === 'subscriber';
      },
    });
    expect(await canRead('owner', 't1')).toBe(true);
    expect(await canRead('subscriber', 't1')).toBe(true);
    expect(await canRead('stranger', 't1')).toBe(false);
    expect(await canRead('owner', 'missing')).toBe(false);
    expect(asked).toEqual(['subscriber', 'stranger']);
  });
});
