import { pause } from '../concurrency/index.ts';
import type { Pacer } from '../concurrency/pacer.ts';
import { MsgxcError, permanent } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { Json, SearchAdapter, SearchHit } from './adapters/types.ts';

/**
 * Point in time + `search_after` paging: one PIT over the whole walk (a consistent view even while
 * changes are applied), pages sorted on a total order. The PIT is closed in `finally`, which also runs
 * when the consumer breaks out of its `for await` early or throws.
 *
 * An unpaced walk reads one page ahead: the next page is asked for as soon as a page arrives, before the
 * consumer takes it, so the engine finds the next page while the consumer opens devices and builds
 * batches (one request in flight at a time, at most two pages in memory). A paced walk (a bulk lane that
 * leaves room to urgent work) asks only after the consumer took the previous page, as the pacer decides.
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
   * on after the last hit it received: the sort is a total order on uid, so nothing is skipped or repeated.
   */
  resumeWithinMs?: number;
  /** Waited on before each page and told how long each took (see concurrency/pacer.ts). */
  pacer?: Pacer | undefined;
  /** Ask for the next page before the consumer took this one; by default, when the walk is not paced. */
  readAhead?: boolean | undefined;
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
  const { pageSize, signal } = walk;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw permanent('INVALID_PAGE_SIZE', `page size ${pageSize} is not an integer in 1..${MAX_PAGE_SIZE}`);
  }
  if (walk.segments.length === 0) return;
  signal?.throwIfAborted();
  const readAhead = walk.readAhead ?? !walk.pacer;
  const pages = createPageFetcher(walk, await walk.adapter.openPit(walk.index, walk.keepAlive));
  let ahead: Promise<SearchHit[]> | null = null;
  try {
    for (const query of walk.segments) {
      let next: Promise<SearchHit[]> | null = pages.fetch(query, undefined);
      while (next) {
        const hits = await next;
        next = null;
        const after = hits.length === pageSize ? hits[hits.length - 1]?.sort : undefined;
        if (after && readAhead) {
          next = pages.fetch(query, after);
          // Handled now, awaited later: a failure while the consumer holds this page is not an unhandled
          // rejection, and the await below still throws it.
          next.catch(nothing);
          ahead = next;
        }
        if (hits.length > 0) yield hits;
        if (after && !readAhead) next = pages.fetch(query, after);
        ahead = null;
      }
    }
  } finally {
    // A consumer that stopped early leaves the page read ahead in flight: let it settle (nobody wants its
    // hits, and its failure is no failure of the walk) before the PIT it reads is closed.
    if (ahead) await ahead.then(nothing, nothing);
    await pages.close();
  }
}

/** Settles a promise whose outcome is read elsewhere, or that nobody wants any more. */
function nothing(): void {
  // the caller says why it does not look at the outcome here
}

/**
 * Fetches pages under the walk's point in time, one at a time, riding out an engine outage within
 * `resumeWithinMs`: the PIT is reopened and the page asked for again after the same sort values.
 */
function createPageFetcher(walk: PitWalk, firstPitId: string) {
  const { adapter, signal } = walk;
  let pitId: string | null = firstPitId;
  let failingSince: number | null = null;
  let failures = 0;
  return {
    async fetch(query: Json, searchAfter: unknown[] | undefined): Promise<SearchHit[]> {
      for (;;) {
        signal?.throwIfAborted();
        // Outside the try: an abort while pacing ends the walk, it is not an engine failure to ride out.
        await walk.pacer?.before(signal);
        try {
          pitId ??= await adapter.openPit(walk.index, walk.keepAlive);
          const asked = performance.now();
          const response = await adapter.search({
            pit: { id: pitId, keepAlive: walk.keepAlive },
            query,
            sort: walk.sort,
            size: walk.pageSize,
            searchAfter,
            source: walk.source,
          });
          walk.pacer?.after(performance.now() - asked);
          failingSince = null;
          failures = 0;
          pitId = response.pitId;
          return response.hits;
        } catch (error) {
          failingSince ??= Date.now();
          if (!resumable(error) || Date.now() - failingSince > (walk.resumeWithinMs ?? 0)) throw error;
          walk.log?.warn({ err: error instanceof Error ? error.message : error, failures }, 'audience walk resumes');
          await pause(resumeBackoffMs[Math.min(failures++, resumeBackoffMs.length - 1)]!, signal);
          // The old PIT may be gone (expired during the outage): a new one, the walk goes on after searchAfter.
          if (pitId) await closeQuietly(walk, pitId);
          pitId = null;
        }
      }
    },
    async close(): Promise<void> {
      if (pitId) await closeQuietly(walk, pitId);
      pitId = null;
    },
  };
}

async function closeQuietly(walk: PitWalk, pitId: string): Promise<void> {
  await walk.adapter.closePit(pitId).catch((error: unknown) => {
    // The PIT expires on its own after keep-alive; failing to close it early must not mask the walk's outcome.
    walk.log?.warn({ err: error instanceof MsgxcError ? error.message : error }, 'could not close point in time');
  });
}
