/** Bounded concurrency for I/O fan-out: enough requests in flight to hide latency, not so many a server sheds them. */

/** `items` in slices of at most `size`, in order. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Runs `task` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Interleaves the streams `open(item)` makes, at most `limit` open at once, each stream's own order kept: a slow
 * stream (a broadcast paging its audience) does not hold up the ones beside it. A stream is asked for its next
 * value only once its previous one was taken. Leaving early, or a stream failing, closes every open stream.
 */
export async function* mergeLimit<T, R>(
  items: readonly T[],
  limit: number,
  open: (item: T) => AsyncIterable<R>,
): AsyncGenerator<R, void, undefined> {
  type Step = { key: number; result: IteratorResult<R> };
  const active = new Map<number, { iterator: AsyncIterator<R>; next: Promise<Step> }>();
  const pull = (key: number, iterator: AsyncIterator<R>) => {
    const next = iterator.next().then((result) => ({ key, result }));
    // Raced on the next turn; until then a rejection must not count as unhandled.
    next.catch(() => undefined);
    active.set(key, { iterator, next });
  };
  let opened = 0;
  const openNext = () => {
    const key = opened++;
    pull(key, open(items[key] as T)[Symbol.asyncIterator]());
  };
  try {
    while (opened < items.length && active.size < Math.max(1, limit)) openNext();
    while (active.size > 0) {
      const { key, result } = await Promise.race([...active.values()].map((stream) => stream.next));
      const stream = active.get(key)!;
      if (result.done) {
        active.delete(key);
        if (opened < items.length) openNext();
        continue;
      }
      yield result.value;
      pull(key, stream.iterator);
    }
  } finally {
    const open = [...active.values()];
    active.clear();
    await Promise.allSettled(
      open.map(async (stream) => {
        await stream.next.catch(() => undefined);
        await stream.iterator.return?.();
      }),
    );
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it is aborted. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
