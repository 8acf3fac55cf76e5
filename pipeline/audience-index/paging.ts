import { pause } from '../concurrency/index.ts';
import type { Pacer } from '../concurrency/pacer.ts';
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
  /**
   * How long a walk rides out an unavailable engine or an expired point in time before it gives up (then
   * the error reaches the stage, whose retry policy takes over). Within it the walk reopens a PIT and goes
   * on after the last hit it yielded: the sort is a total order on uid, so nothing is skipped or repeated.
   */
  resumeWithinMs?: number;
  /**
   * Every page and PIT opening goes through it: it paces them and keeps a window of them in flight, shared
   * with the walks running beside this one (concurrency/pacer.ts).
   */
  pacer?: Pacer | undefined;
}

const resumeBackoffMs = [250, 500, 1_000, 2_000, 5_000];

/** An engine outage or a PIT the engine no longer knows (expired while the engine was away): worth a new PIT. */
function resumable(error: unknown): boolean {
  if (!(error instanceof MsgxcError)) return true;
  if (error.retriable) return true;
  const details = error.details as { status?: number; type?: string } | undefined;
  return details?.status === 404 || details?.type === 'search_context_missing_exception';
}

export const MAX_PAGE_SIZE = 10_000;

export async function* walkPit(walk: PitWalk): AsyncGenerator<SearchHit[], void, undefined> {
  const { adapter, pageSize, signal } = walk;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw permanent('INVALID_PAGE_SIZE', `page size ${pageSize} is not an integer in 1..${MAX_PAGE_SIZE}`);
  }
  if (walk.segments.length === 0) return;
  signal?.throwIfAborted();
  // Opening a PIT holds a place in the pacer's window (a broadcast's slices would otherwise open theirs at
  // once), but its latency, unlike a page's, says nothing of contention.
  const openPit = () => paced(walk, () => adapter.openPit(walk.index, walk.keepAlive), false);
  let pitId: string | null = await openPit();
  let failingSince: number | null = null;
  let failures = 0;
  try {
    for (const query of walk.segments) {
      let searchAfter: unknown[] | undefined;
      for (;;) {
        signal?.throwIfAborted();
        let response: Awaited<ReturnType<SearchAdapter['search']>>;
        try {
          pitId ??= await openPit();
          const pit = { id: pitId, keepAlive: walk.keepAlive };
          const page = { pit, query, sort: walk.sort, size: pageSize, searchAfter, source: walk.source };
          response = await paced(walk, () => adapter.search(page), true);
        } catch (error) {
          // An abort (while pacing too) ends the walk: it is not an engine failure to ride out.
          if (signal?.aborted) throw error;
          failingSince ??= Date.now();
          if (!resumable(error) || Date.now() - failingSince > (walk.resumeWithinMs ?? 0)) throw error;
          walk.log?.warn({ err: error instanceof Error ? error.message : error, failures }, 'audience walk resumes');
          await pause(resumeBackoffMs[Math.min(failures++, resumeBackoffMs.length - 1)]!, signal);
          // The old PIT may be gone (expired during the outage): a new one, the walk goes on after searchAfter.
          if (pitId) await closeQuietly(walk, pitId);
          pitId = null;
          continue;
        }
        failingSince = null;
        failures = 0;
        pitId = response.pitId;
        const hits = response.hits;
        if (hits.length > 0) yield hits;
        if (hits.length < pageSize) break;
        searchAfter = hits[hits.length - 1]?.sort;
      }
    }
  } finally {
    if (pitId) await closeQuietly(walk, pitId);
  }
}

/** A request of the walk, through its pacer when it has one (see concurrency/pacer.ts). */
function paced<T>(walk: PitWalk, call: () => Promise<T>, measured: boolean): Promise<T> {
  return walk.pacer ? walk.pacer.run(call, { signal: walk.signal, measured }) : call();
}

async function closeQuietly(walk: PitWalk, pitId: string): Promise<void> {
  await walk.adapter.closePit(pitId).catch((error: unknown) => {
    // The PIT expires on its own after keep-alive; failing to close it early must not mask the walk's outcome.
    walk.log?.warn({ err: error instanceof MsgxcError ? error.message : error }, 'could not close point in time');
  });
}
