import { MsgxcError, permanent } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { Json, SearchAdapter, SearchHit } from './adapters/types.ts';

/**
 * Point in time + `search_after` paging: one PIT over the whole walk (a consistent view even while
 * changes are applied), pages sorted on a total order, the next page asked for only after the
 * consumer took the previous one. The PIT is closed in `finally`, which also runs when the consumer
 * breaks out of its `for await` early or throws.
 */
export interface PitWalk {
  adapter: SearchAdapter;
  index: string;
  segments: Json[];
  sort: Json[];
  pageSize: number;
  source: boolean | { excludes: string[] };
  keepAlive: string;
  signal?: AbortSignal | undefined;
  log?: Logger | undefined;
}

export const MAX_PAGE_SIZE = 10_000;

export async function* walkPit(walk: PitWalk): AsyncGenerator<SearchHit[], void, undefined> {
  const { adapter, pageSize, signal } = walk;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw permanent('INVALID_PAGE_SIZE', `page size ${pageSize} is not an integer in 1..${MAX_PAGE_SIZE}`);
  }
  if (walk.segments.length === 0) return;
  signal?.throwIfAborted();
  let pitId = await adapter.openPit(walk.index, walk.keepAlive);
  try {
    for (const query of walk.segments) {
      let searchAfter: unknown[] | undefined;
      for (;;) {
        signal?.throwIfAborted();
        const response = await adapter.search({
          pit: { id: pitId, keepAlive: walk.keepAlive },
          query,
          sort: walk.sort,
          size: pageSize,
          searchAfter,
          source: walk.source,
        });
        pitId = response.pitId;
        const hits = response.hits;
        if (hits.length > 0) yield hits;
        if (hits.length < pageSize) break;
        searchAfter = hits[hits.length - 1]?.sort;
      }
    }
  } finally {
    await adapter.closePit(pitId).catch((error: unknown) => {
      // The PIT expires on its own after keep-alive; failing to close it early must not mask the walk's outcome.
      walk.log?.warn({ err: error instanceof MsgxcError ? error.message : error }, 'could not close point in time');
    });
  }
}
