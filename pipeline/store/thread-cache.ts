/**
 * The one cache in front of the thread store, for the facade's permission checks and the stages' routing: a
 * busy thread's requests arrive in bursts, and reading its row once per burst instead of once per request
 * keeps Cassandra for the writes.
 *
 * The rules, the same for every user of it:
 * - A thread found is remembered for `ttlMs`, so another process's change to its rules (a publisher removed)
 *   is honoured here within that time. Concurrent reads of one thread share one Cassandra read.
 * - A miss is never remembered: a thread created by another process (another facade, the one a client just
 *   used) is usable at once. A flood of unknown thread ids costs one read each; the facade's rate limits,
 *   not this cache, bound that.
 * - A failed read is not remembered: the next request asks again.
 * - Writes made through the cache (`createThread`, `updateThread`, when the source has them) replace the
 *   entry at once, so this process sees its own changes immediately.
 * - At most `maxEntries` threads; the oldest entry goes first. `ttlMs <= 0` turns the cache off.
 */
export interface ThreadSource<T> {
  getThread(tid: string): Promise<T | null>;
}

export interface ThreadCacheOptions {
  /** How long a thread found is served from memory; default 2 s. */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface ThreadWrites<T> {
  createThread?(...args: never[]): Promise<T>;
  updateThread?(tid: string, ...rest: never[]): Promise<T>;
}

export function cacheThreads<T extends { tid: string }, S extends ThreadSource<T> & ThreadWrites<T>>(
  source: S,
  options: ThreadCacheOptions = {},
): S {
  const ttlMs = options.ttlMs ?? 2_000;
  if (ttlMs <= 0) return source;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { until: number; value: Promise<T | null> }>();

  const remember = (tid: string, value: Promise<T | null>) => {
    entries.delete(tid);
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
    const entry = { until: now() + ttlMs, value };
    entries.set(tid, entry);
    const forget = () => {
      if (entries.get(tid) === entry) entries.delete(tid);
    };
    value.then((thread) => thread === null && forget(), forget);
    return value;
  };

  const cached: ThreadSource<T> & ThreadWrites<T> = {
    getThread(tid) {
      const hit = entries.get(tid);
      if (hit !== undefined && hit.until > now()) return hit.value;
      return remember(tid, source.getThread(tid));
    },
  };
  const { createThread, updateThread } = source;
  if (createThread !== undefined) {
    cached.createThread = async (...args) => {
      const thread = await createThread.apply(source, args);
      remember(thread.tid, Promise.resolve(thread));
      return thread;
    };
  }
  if (updateThread !== undefined) {
    cached.updateThread = async (tid, ...rest) => {
      entries.delete(tid);
      const thread = await updateThread.apply(source, [tid, ...rest]);
      remember(thread.tid, Promise.resolve(thread));
      return thread;
    };
  }
  return { ...source, ...cached } as S;
}
