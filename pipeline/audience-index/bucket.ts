import type { AudienceSlice } from '../../schemas/types.generated.ts';
import { permanent } from '../errors/index.ts';

/**
 * Each user document carries `bucket = fnv1a32(uid) mod BUCKETS`. Slice `id` of `max` is a range of
 * buckets, so every process computes the same disjoint, complete partition without coordinating and
 * without the engine's own slicing (whose Lucene-doc-id split is only stable within one PIT).
 */
export const BUCKETS = 4096;

export function bucketOf(uid: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(uid, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % BUCKETS;
}

/** The half-open bucket range [from, to) of one slice. */
export function sliceRange(slice: AudienceSlice): { from: number; to: number } {
  const { id, max } = slice;
  if (!Number.isInteger(max) || max < 1 || max > BUCKETS || !Number.isInteger(id) || id < 0 || id >= max) {
    throw permanent('INVALID_AUDIENCE_SLICE', `slice ${id} of ${max} is not 0 <= id < max <= ${BUCKETS}`);
  }
  return { from: Math.floor((id * BUCKETS) / max), to: Math.floor(((id + 1) * BUCKETS) / max) };
}
