import { describe, expect, it } from 'vitest';
import { permanent } from '../errors/index.ts';
import type { PitSearchRequest, SearchAdapter, SearchHit } from './adapters/types.ts';
import { walkPit } from './paging.ts';

/** An engine of `total` documents sorted by number; each search waits until the test answers it. */
function engineOf(total: number) {
  const log: string[] = [];
  const waiting: { release: () => void; fail: (error: Error) => void }[] = [];
  const adapter = {
    async openPit() {
      log.push('open');
      return 'pit-1';
    },
    async closePit(id: string) {
      log.push(`close ${id}`);
    },
    async search(request: PitSearchRequest) {
      const from = request.searchAfter === undefined ? 0 : Number(request.searchAfter[0]) + 1;
      log.push(`search ${from}`);
      await new Promise<void>((resolve, reject) => waiting.push({ release: resolve, fail: reject }));
      log.push(`answer ${from}`);
      const hits: SearchHit[] = [];
      for (let n = from; n < Math.min(total, from + request.size); n++)
        hits.push({ id: `u${n}`, source: {}, sort: [n] });
      return { pitId: 'pit-1', hits };
    },
  } as unknown as SearchAdapter;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  /** Lets the oldest waiting search answer. */
  const answer = async () => {
    await settle();
    waiting.shift()?.release();
    await settle();
  };
  const failNext = async (error: Error) => {
    await settle();
    waiting.shift()?.fail(error);
    await settle();
  };
  return { adapter, log, answer, failNext, waiting: () => waiting.length };
}

const walkOf = (adapter: SearchAdapter) =>
  walkPit({ adapter, index: 'audience', segments: [{}], sort: [], pageSize: 2, source: true, keepAlive: '1m' });

describe('walkPit', () => {
  it('reads one page ahead of the consumer, never more, and closes the point in time at the end', async () => {
    const engine = engineOf(5);
    const pages = walkOf(engine.adapter);
    const first = pages.next();
    await engine.answer();
    expect((await first).value?.map((hit) => hit.id)).toEqual(['u0', 'u1']);
    // The consumer holds page 1: page 2 is asked for already, page 3 is not.
    await engine.answer();
    expect(engine.log).toEqual(['open', 'search 0', 'answer 0', 'search 2', 'answer 2']);
    expect(engine.waiting()).toBe(0);

    expect((await pages.next()).value?.map((hit) => hit.id)).toEqual(['u2', 'u3']);
    await engine.answer();
    expect((await pages.next()).value?.map((hit) => hit.id)).toEqual(['u4']);
    expect((await pages.next()).done).toBe(true);
    expect(engine.log.slice(-3)).toEqual(['search 4', 'answer 4', 'close pit-1']);
  });

  it('when the consumer leaves early, lets the page in flight settle before it closes the point in time', async () => {
    const engine = engineOf(10);
    const pages = walkOf(engine.adapter);
    const first = pages.next();
    await engine.answer();
    await first;
    const leaving = pages.return(undefined);
    await engine.answer();
    await leaving;
    expect(engine.log).toEqual(['open', 'search 0', 'answer 0', 'search 2', 'answer 2', 'close pit-1']);
  });

  it('reports a failed read-ahead when the consumer asks for that page, and closes the point in time', async () => {
    const engine = engineOf(10);
    const pages = walkOf(engine.adapter);
    const first = pages.next();
    await engine.answer();
    await first;
    await engine.failNext(permanent('INDEX_GONE', 'index gone'));
    await expect(pages.next()).rejects.toThrow('index gone');
    expect(engine.log.at(-1)).toBe('close pit-1');
  });
});
