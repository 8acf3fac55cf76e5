/**
 * A short-lived cache in front of the thread store: a busy thread's requests arrive in bursts, and reading its
 * row once per burst instead of once per request keeps Cassandra for the writes. Entries live `ttlMs`, so a
 * change to a thread's rules (a publisher removed) is honoured within that time. Misses (unknown threads) are
 * cached too, for the same time, so a flood of requests to a deleted thread costs one read per interval.
 */
export interface ThreadSource<T> {
  getThread(tid: string): Promise<T | null>;
}

export function cacheThreads<T>(
  source: ThreadSource<T>,
  options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {},
): ThreadSource<T> {
  const ttlMs = options.ttlMs ?? 2_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { at: number; value: Promise<T | null> }>();
  return {
    getThread(tid) {
      const at = now();
      const hit = entries.get(tid);
      if (hit && at - hit.at < ttlMs) return hit.value;
      if (entries.size >= maxEntries) entries.clear();
      const value = source.getThread(tid);
      entries.set(tid, { at, value });
      // A failed read is not remembered: the next request asks again.
      value.catch(() => {
        if (entries.get(tid)?.value === value) entries.delete(tid);
      });
      return value;
    },
  };
}
