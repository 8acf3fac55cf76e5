import type { Thread } from '../../pipeline/store/thread.ts';
import type { ThreadsPort } from './ports.ts';

/**
 * Publish and subscribe check the thread's rules on every call; reading them from Cassandra each time
 * would make the thread row the hottest row in the cluster. Threads found are remembered for `ttlMs`
 * (bounded), and this process's own updates replace the entry at once; another process's change to a
 * thread's rules reaches this one within `ttlMs`. Triage re-checks the sender's rights downstream, so a
 * stale "allowed" here cannot deliver what the thread forbids. Missing threads are not remembered, so a
 * thread created elsewhere is usable immediately.
 */
export function cacheThreads(
  threads: ThreadsPort,
  options: { ttlMs: number; maxEntries?: number; clock?: () => number },
): ThreadsPort {
  if (options.ttlMs <= 0) return threads;
  const clock = options.clock ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { thread: Thread; until: number }>();
  const remember = (thread: Thread) => {
    entries.delete(thread.tid);
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
    entries.set(thread.tid, { thread, until: clock() + options.ttlMs });
    return thread;
  };
  return {
    ...threads,
    async getThread(tid) {
      const entry = entries.get(tid);
      if (entry !== undefined && entry.until > clock()) return entry.thread;
      const thread = await threads.getThread(tid);
      if (thread === null) entries.delete(tid);
      else remember(thread);
      return thread;
    },
    async createThread(input, at) {
      return remember(await threads.createThread(input, at));
    },
    async updateThread(tid, patch, at) {
      entries.delete(tid);
      return remember(await threads.updateThread(tid, patch, at));
    },
  };
}
