import { describe, expect, it } from 'vitest';
import { thread as testThread } from '../../test/support/store.ts';
import type { Thread, ThreadStore } from './thread.ts';
import { cacheThreads } from './thread-cache.ts';

const thread = (tid: string, name: string): Thread => testThread({ tid, name, owner: 'o' });

function store() {
  const rows = new Map<string, Thread>([['t1', thread('t1', 'one')]]);
  let reads = 0;
  const port = {
    getThread: async (tid: string) => {
      reads++;
      return rows.get(tid) ?? null;
    },
    createThread: async (input: { tid?: string; name?: string | null }) => {
      const created = thread(input.tid ?? 'new', input.name ?? '');
      rows.set(created.tid, created);
      return created;
    },
    updateThread: async (tid: string, patch: { name?: string | null }) => {
      const updated = { ...rows.get(tid)!, name: patch.name ?? null };
      rows.set(tid, updated);
      return updated;
    },
    isSubscribed: async () => false,
    subscribe: async () => true,
    unsubscribe: async () => true,
  } as unknown as Pick<ThreadStore, 'getThread' | 'createThread' | 'updateThread'>;
  return { port, rows, reads: () => reads };
}

describe('cacheThreads', () => {
  it('reads a thread once per interval and forgets misses and failures', async () => {
    let clock = 0;
    const reads: string[] = [];
    let fail = false;
    const cached = cacheThreads(
      {
        async getThread(tid: string) {
          reads.push(tid);
          if (fail) throw new Error('down');
          return tid === 'known' ? { tid } : null;
        },
      },
      { ttlMs: 1_000, now: () => clock },
    );
    expect(await cached.getThread('known')).toEqual({ tid: 'known' });
    expect(await cached.getThread('known')).toEqual({ tid: 'known' });
    expect(await cached.getThread('gone')).toBeNull();
    expect(await cached.getThread('gone')).toBeNull();
    // One miss rule: a thread created elsewhere a moment later must be found, so misses are read again.
    expect(reads).toEqual(['known', 'gone', 'gone']);

    clock = 1_000;
    fail = true;
    await expect(cached.getThread('known')).rejects.toThrow('down');
    fail = false;
    expect(await cached.getThread('known')).toEqual({ tid: 'known' });
    expect(reads).toEqual(['known', 'gone', 'gone', 'known', 'known']);
  });

  it('serves repeated reads from memory until the entry ages out', async () => {
    let now = 0;
    const backing = store();
    const cached = cacheThreads(backing.port, { ttlMs: 1000, now: () => now });
    expect((await cached.getThread('t1'))?.name).toBe('one');
    expect((await cached.getThread('t1'))?.name).toBe('one');
    expect(backing.reads()).toBe(1);
    backing.rows.set('t1', thread('t1', 'changed elsewhere'));
    now = 999;
    expect((await cached.getThread('t1'))?.name).toBe('one');
    now = 1001;
    expect((await cached.getThread('t1'))?.name).toBe('changed elsewhere');
    expect(backing.reads()).toBe(2);
  });

  it('sees its own updates at once and never remembers a missing thread', async () => {
    const backing = store();
    const cached = cacheThreads(backing.port, { ttlMs: 60_000 });
    await cached.getThread('t1');
    await cached.updateThread('t1', { name: 'renamed' });
    expect((await cached.getThread('t1'))?.name).toBe('renamed');
    expect(await cached.getThread('t2')).toBeNull();
    backing.rows.set('t2', thread('t2', 'two'));
    expect((await cached.getThread('t2'))?.name).toBe('two');
  });

  it('stays bounded', async () => {
    const backing = store();
    for (let index = 0; index < 10; index++) backing.rows.set(`x${index}`, thread(`x${index}`, `${index}`));
    const cached = cacheThreads(backing.port, { ttlMs: 60_000, maxEntries: 3 });
    for (let index = 0; index < 10; index++) await cached.getThread(`x${index}`);
    const before = backing.reads();
    await cached.getThread('x0');
    expect(backing.reads()).toBe(before + 1);
    await cached.getThread('x9');
    expect(backing.reads()).toBe(before + 1);
  });

  it('is off with a zero lifetime', async () => {
    const backing = store();
    expect(cacheThreads(backing.port, { ttlMs: 0 })).toBe(backing.port);
  });
});
