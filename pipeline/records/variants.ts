import { createHash } from 'node:crypto';
import type { Experiment, Variant } from '../../schemas/types.generated.ts';

/**
 * Deterministic, sticky experiment assignment. A user's variant depends only on the experiment id, the
 * uid and the experiment's variant list (names, weights, explicit users, in their stable order): the same
 * user gets the same variant in every message of the experiment, on every fanout process and on a
 * redelivered job, with no state to store or share.
 */

/** Hash resolution: buckets of 0.01 percentage points, so weights are honoured to two decimals. */
const buckets = 10_000;

/** Where a user falls in [0, 100): the first 32 bits of SHA-1(experiment id, uid) mapped onto buckets. */
export function bucketOf(experimentId: string, uid: string): number {
  // The NUL separator keeps ("ab", "c") and ("a", "bc") apart.
  const digest = createHash('sha1').update(experimentId).update('\0').update(uid).digest();
  return (digest.readUInt32BE(0) % buckets) / (buckets / 100);
}

export interface VariantAssigner {
  /** The variant name for this user; null when the weights sum to less than 100 and the user falls outside (a holdout). */
  assign(uid: string): string | null;
}

/**
 * Builds an assigner for one experiment. Explicit user lists win over the hash (the first variant that
 * names the user); everyone else is placed by `bucketOf` on the cumulative weights in list order.
 */
export function createVariantAssigner(experiment: Experiment): VariantAssigner {
  const explicit = new Map<string, string>();
  for (const variant of experiment.variants) {
    for (const uid of variant.uids ?? []) if (!explicit.has(uid)) explicit.set(uid, variant.name);
  }
  const bounds = cumulative(experiment.variants);
  return {
    assign(uid) {
      const named = explicit.get(uid);
      if (named !== undefined) return named;
      const bucket = bucketOf(experiment.id, uid);
      for (const bound of bounds) if (bucket < bound.upTo) return bound.name;
      return null;
    },
  };
}

function cumulative(variants: readonly Variant[]): { name: string; upTo: number }[] {
  let total = 0;
  const bounds: { name: string; upTo: number }[] = [];
  for (const variant of variants) {
    // Negative weights are a contract violation; treating them as 0 keeps a bad experiment from shifting the others.
    total += Math.max(0, variant.weight);
    bounds.push({ name: variant.name, upTo: Math.min(total, 100) });
  }
  return bounds;
}
