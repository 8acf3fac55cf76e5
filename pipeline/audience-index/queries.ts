import { permanent } from '../errors/index.ts';
import type { Json } from './adapters/types.ts';
import { sliceRange } from './bucket.ts';
import type { AudienceQuery, PageOptions } from './types.ts';

/**
 * Every audience query as engine DSL. A query becomes one or more segments run in turn under the same
 * point in time: only a long uid list needs several (a `terms` query is capped at 65 536 terms, and a
 * few thousand per request keep each one small).
 */
export const UIDS_PER_SEGMENT = 5_000;

/** The layer's sort. `uid` is also the document id, so it alone is a total order; adapters may add a tiebreaker. */
export const UID_SORT: Json[] = [{ uid: 'asc' }];

export function querySegments(query: AudienceQuery, options: Omit<PageOptions, 'pageSize'> = {}): Json[] {
  return selectors(query).map((selector) => withFilters(selector, options));
}

function selectors(query: AudienceQuery): Json[] {
  switch (query.kind) {
    case 'everyone':
      return [{ match_all: {} }];
    case 'thread':
      requireValue(query.tid, 'thread query needs a tid');
      return [{ term: { tids: query.tid } }];
    case 'cohort':
      requireValue(query.cohort, 'cohort query needs a cohort name');
      return [{ term: { cohorts: query.cohort } }];
    case 'split':
      requireValue(query.experiment, 'split query needs an experiment id');
      requireValue(query.variant, 'split query needs a variant');
      return [
        {
          nested: {
            path: 'splits',
            query: {
              bool: {
                filter: [
                  { term: { 'splits.experiment': query.experiment } },
                  { term: { 'splits.variant': query.variant } },
                ],
              },
            },
          },
        },
      ];
    case 'uids': {
      const uids = [...new Set(query.uids)].filter(Boolean);
      const segments: Json[] = [];
      for (let start = 0; start < uids.length; start += UIDS_PER_SEGMENT) {
        segments.push({ terms: { uid: uids.slice(start, start + UIDS_PER_SEGMENT) } });
      }
      return segments;
    }
    default:
      throw permanent('INVALID_AUDIENCE_QUERY', `unknown audience kind ${String((query as { kind: unknown }).kind)}`);
  }
}

function withFilters(selector: Json, options: Omit<PageOptions, 'pageSize'>): Json {
  const filter: Json[] = [selector];
  if (options.reachableOn && options.reachableOn.length > 0) {
    filter.push({ terms: { reachable: [...options.reachableOn] } });
  }
  if (options.slice) {
    const { from, to } = sliceRange(options.slice);
    filter.push({ range: { bucket: { gte: from, lt: to } } });
  }
  // Tombstones of deleted users stay in the index to fence off late changes; they are nobody's audience.
  const mustNot: Json[] = [{ exists: { field: 'deletedAt' } }];
  if (options.excludeOptedOut) mustNot.push({ term: { optedOut: true } });
  return { bool: { filter, must_not: mustNot } };
}

function requireValue(value: string | undefined, message: string): void {
  if (!value) throw permanent('INVALID_AUDIENCE_QUERY', message);
}
