import { describe, expect, it } from 'vitest';
import { cacheThreads } from './thread-cache.ts';

describe('cacheThreads', () => {
  it('reads a thread once per interval, misses included, and forgets failures', async () => {
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
    expect(reads).toEqual(['known', 'gone']);

    clock = 1_000;
    fail = true;
    await expect(cached.getThread('known')).rejects.toThrow('down');
    fail = false;
    expect(await cached.getThread('known')).toEqual({ tid: 'known' });
    expect(reads).toEqual(['known', 'gone', 'known', 'known']);
  });
});
