import { permanent } from '../errors/index.ts';
import type { Json, SearchAdapter } from './adapters/types.ts';
import { bucketOf, sliceRange } from './bucket.ts';
import { MAX_PAGE_SIZE } from './paging.ts';
import type { PageOptions } from './types.ts';

/**
 * A uid list no longer than this (after the slice is applied) is read by id with multi-get; a longer one
 * is paged under a point in time like any other query. Opening a point in time costs more than a hundred
 * milliseconds on an idle OpenSearch, a multi-get of a few hundred ids some fifteen.
 */
export const LOOKUP_MAX_UIDS = 10_000;

/** Ids per multi-get request: bounded so one request stays small whatever the page size. */
export const LOOKUP_BATCH = 1_000;

/**
 * The requested uids this query reaches, de-duplicated, in the engine's uid order (UTF-8 bytes, as the
 * keyword sort compares), and restricted to the slice's buckets.
 */
export function lookupUids(uids: readonly string[], options: Pick<PageOptions, 'slice'>): string[] {
  let wanted = [...new Set(uids)].filter(Boolean);
  if (options.slice) {
    const { from, to } = sliceRange(options.slice);
    wanted = wanted.filter((uid) => {
      const bucket = bucketOf(uid);
      return bucket >= from && bucket < to;
    });
  }
  return wanted
    .map((uid) => ({ uid, bytes: Buffer.from(uid, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ uid }) => uid);
}

/**
 * A uid list's documents by id, in full pages of `pageSize` (the last one shorter), applying the same
 * filters as the query DSL (queries.ts `withFilters`): tombstones and, when asked, the opted-out and the
 * unreachable are left out. No point in time: each multi-get reads the newest documents, which for a
 * list read in a few requests is the consistency a point in time would give.
 */
export async function* lookupPages(
  adapter: SearchAdapter,
  index: string,
  uids: readonly string[],
  options: PageOptions,
): AsyncGenerator<Json[], void, undefined> {
  const { pageSize, signal } = options;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw permanent('INVALID_PAGE_SIZE', `page size ${pageSize} is not an integer in 1..${MAX_PAGE_SIZE}`);
  }
  const keep = matcher(options);
  let page: Json[] = [];
  for (let start = 0; start < uids.length; start += LOOKUP_BATCH) {
    signal?.throwIfAborted();
    const found = await adapter.getDocuments(index, uids.slice(start, start + LOOKUP_BATCH));
    for (const source of found) {
      if (!source || !keep(source)) continue;
      page.push(source);
      if (page.length === pageSize) {
        yield page;
        page = [];
      }
    }
  }
  if (page.length > 0) yield page;
}

function matcher(options: Omit<PageOptions, 'pageSize'>): (source: Json) => boolean {
  const reachableOn = options.reachableOn && options.reachableOn.length > 0 ? new Set(options.reachableOn) : null;
  return (source) => {
    if (source.deletedAt != null) return false;
    if (options.excludeOptedOut && source.optedOut === true) return false;
    if (reachableOn && !((source.reachable as string[] | undefined) ?? []).some((c) => reachableOn.has(c as never))) {
      return false;
    }
    return true;
  };
}
