import type { AudienceIndex } from '../../pipeline/audience-index/index.ts';
import { querySegments } from '../../pipeline/audience-index/queries.ts';
import type { AudienceDoc, AudienceQuery, PageOptions } from '../../pipeline/audience-index/types.ts';
import { permanent } from '../../pipeline/errors/index.ts';
import type { Audience } from '../../schemas/types.generated.ts';

/**
 * What fanout needs from the audience index: pages of documents, and a count to decide whether an
 * audience is big enough to cut into slices. The index layer has no `count` of its own yet, so this
 * thin adapter counts through the layer's own query builder (`querySegments`) and its engine adapter:
 * the query is the very one `pages` runs, never a hand-written copy.
 */
export interface AudienceSource {
  pages(query: AudienceQuery, options: PageOptions): AsyncIterable<AudienceDoc[]>;
  count(query: AudienceQuery, options: Omit<PageOptions, 'pageSize'>): Promise<number>;
}

export function audienceSourceOf(index: AudienceIndex): AudienceSource {
  return {
    pages: (query, options) => index.pages(query, options),
    async count(query, options) {
      let total = 0;
      for (const segment of querySegments(query, options)) total += await index.adapter.count(index.alias, segment);
      return total;
    },
  };
}

/** The job's audience as an index query; a job whose audience lacks its parameter is a permanent failure. */
export function audienceQueryOf(audience: Audience): AudienceQuery {
  const missing = (what: string) => permanent('INVALID_FANOUT_JOB', `audience ${audience.kind} needs ${what}`);
  switch (audience.kind) {
    case 'thread':
      if (!audience.tid) throw missing('a tid');
      return { kind: 'thread', tid: audience.tid };
    case 'uids':
      if (!audience.uids) throw missing('uids');
      return { kind: 'uids', uids: audience.uids };
    case 'everyone':
      return { kind: 'everyone' };
    case 'cohort':
      if (!audience.cohort) throw missing('a cohort');
      return { kind: 'cohort', cohort: audience.cohort };
    case 'split':
      if (!audience.experimentId || !audience.variant) throw missing('an experiment id and a variant');
      return { kind: 'split', experiment: audience.experimentId, variant: audience.variant };
  }
}
