import { describe, expect, it } from 'vitest';
import { createPacer, type Pacer } from '../concurrency/pacer.ts';
import { permanent, retriable } from '../errors/index.ts';
import type { PitSearchRequest, PitSearchResponse, SearchAdapter, SearchHit } from './adapters/types.ts';
import { type PitWalk, walkPit } from './paging.ts';

/**
 * The walk's own logic against an engine kept in memory (uids sorted, `search_after` on uid). The walk
 * against the real engines, an outage included, is in test/audience-index.
 */
interface Engine {
  adapter: SearchAdapter;
  /** Every search asked for, in order, with the uid it starts after. */
  asked: (string | undefined)[];
  openPits: Set<string>;
  /** The next search with this index (0-based) fails once with `error`. */
  failOnce(index: number, error: Error): void;
}

function engine(uids: string[]): Engine {
  const sorted = [...uids].sort();
  const asked: (string | undefined)[] = [];
  const failures = new Map<number, Error>();
  const openPits = new Set<string>();
  let pits = 0;
  const adapter = {
    engine: 'opensearch',
    tiebreaker: [],
    async openPit() {
      const id = `pit-${++pits}`;
      openPits.add(id);
      return id;
    },
    async closePit(id: string) {
      openPits.delete(id);
    },
    async search(request: PitSearchRequest): Promise<PitSearchResponse> {
      const after = request.searchAfter?.[0] as string | undefined;
      const index = asked.push(after) - 1;
      await new Promise((resolve) => setTimeout(resolve, 2));
      const failure = failures.get(index);
      if (failure) {
        failures.delete(index);
        throw failure;
      }
      if (!openPits.has(request.pit.id)) throw new Error(`search under a closed point in time ${request.pit.id}`);
      const from = after === undefined ? 0 : sorted.findIndex((uid) => uid > after);
      const hits: SearchHit[] = (from < 0 ? [] : sorted.slice(from, from + request.size)).map((uid) => ({
        id: uid,
        source: { uid },
        sort: [uid],
      }));
      return { pitId: request.pit.id, hits };
    },
  } as unknown as SearchAdapter;
  return {
    adapter,
    asked,
    openPits,
    failOnce: (index, error) => failures.set(index, error),
  };
}

const uids = Array.from({ length: 25 }, (_, i) => `u${String(i).padStart(3, '0')}`);

function walkOf(target: Engine, extra: Partial<PitWalk> = {}): PitWalk {
  return {
    adapter: target.adapter,
    index: 'audience',
    segments: [{ match_all: {} }],
    sort: [{ uid: 'asc' }],
    pageSize: 10,
    source: true,
    keepAlive: '1m',
    ...extra,
  };
}

const idlePacer = (): Pacer & { pages: number; unmeasured: number } => {
  const pacer = {
    pages: 0,
    unmeasured: 0,
    pauseMs: 0,
    pausedMs: 0,
    inFlightLimit: 1,
    async run<T>(call: () => Promise<T>, options: { measured?: boolean } = {}) {
      if (options.measured === false) pacer.unmeasured++;
      else pacer.pages++;
      return call();
    },
    after() {
      // an idle engine: nothing to learn from a latency
    },
  };
  return pacer;
};

describe('walkPit', () => {
  it('yields every document once, in sort order, and closes its point in time', async () => {
    const target = engine(uids);
    const seen: string[] = [];
    for await (const hits of walkPit(walkOf(target))) seen.push(...hits.map((hit) => hit.id));
    expect(seen).toEqual(uids);
    expect(target.asked).toEqual([undefined, 'u009', 'u019']);
    expect(target.openPits.size).toBe(0);
  });

  it('asks for the next page only after the consumer took this one, each page and the PIT through the pacer', async () => {
    const target = engine(uids);
    const pacer = idlePacer();
    const askedWhenYielded: number[] = [];
    for await (const _hits of walkPit(walkOf(target, { pacer }))) askedWhenYielded.push(target.asked.length);
    expect(askedWhenYielded).toEqual([1, 2, 3]);
    expect(pacer.pages).toBe(3);
    // The PIT holds a place in the window, but its latency is not a page's.
    expect(pacer.unmeasured).toBe(1);
  });

  it('lets walks that share a pacer open their PITs one at a time, and more requests out as fast answers come', async () => {
    const target = engine(uids);
    let inFlight = 0;
    const concurrency: number[] = [];
    const tracked =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      async (...args: A) => {
        concurrency.push(++inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 2));
          return await call(...args);
        } finally {
          inFlight--;
        }
      };
    const adapter = {
      ...target.adapter,
      openPit: tracked(target.adapter.openPit),
      search: tracked(target.adapter.search),
    } as SearchAdapter;
    const pacer = createPacer({ tolerance: 2, maxPauseMs: 100, slackMs: 50 });
    const walks = [0, 1, 2].map(async () => {
      const seen: string[] = [];
      for await (const hits of walkPit({ ...walkOf(target, { pacer }), adapter }))
        seen.push(...hits.map((hit) => hit.id));
      return seen;
    });
    for (const seen of await Promise.all(walks)) expect(seen).toEqual(uids);
    // Unpaced, the three PITs would open at once (1, 2, 3): a broadcast's slices all starting together.
    expect(concurrency.slice(0, 3)).toEqual([1, 1, 1]);
    expect(Math.max(...concurrency)).toBeGreaterThan(1);
    expect(target.openPits.size).toBe(0);
  });

  it('closes its point in time when the consumer stops early', async () => {
    const target = engine(uids);
    for await (const _hits of walkPit(walkOf(target))) break;
    expect(target.asked).toHaveLength(1);
    expect(target.openPits.size).toBe(0);
  });

  it('throws an engine error it cannot ride out, after the pages it yielded, and closes its point in time', async () => {
    const target = engine(uids);
    target.failOnce(1, permanent('SEARCH_REJECTED', 'bad query'));
    const seen: string[] = [];
    await expect(async () => {
      for await (const hits of walkPit(walkOf(target))) seen.push(...hits.map((hit) => hit.id));
    }).rejects.toThrow('bad query');
    expect(seen).toEqual(uids.slice(0, 10));
    expect(target.openPits.size).toBe(0);
  });

  it('rides out an engine outage within resumeWithinMs: the page is asked for again after the same uid', async () => {
    const target = engine(uids);
    target.failOnce(1, retriable('SEARCH_UNAVAILABLE', 'engine away'));
    const seen: string[] = [];
    for await (const hits of walkPit(walkOf(target, { resumeWithinMs: 5_000 }))) {
      seen.push(...hits.map((hit) => hit.id));
    }
    expect(seen).toEqual(uids);
    expect(target.asked).toEqual([undefined, 'u009', 'u009', 'u019']);
    expect(target.openPits.size).toBe(0);
  });
});
