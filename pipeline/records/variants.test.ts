import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../schemas/types.generated.ts';
import { bucketOf, createVariantAssigner } from './variants.ts';

const variant = (name: string, weight: number, uids: string[] | null = null) => ({
  name,
  weight,
  uids,
  subject: null,
  msg: null,
  channels: null,
});

const uids = Array.from({ length: 10_000 }, (_, index) => `user-${index}`);

describe('experiment variants', () => {
  it('places users in [0, 100)', () => {
    for (const uid of uids.slice(0, 1000)) {
      const bucket = bucketOf('exp', uid);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(100);
    }
  });

  it('is deterministic and sticky across assigners (another process, a redelivered job)', () => {
    const experiment: Experiment = { id: 'exp-1', variants: [variant('control', 50), variant('b', 50)] };
    const first = uids.map((uid) => createVariantAssigner(experiment).assign(uid));
    const again = createVariantAssigner(structuredClone(experiment));
    expect(uids.map((uid) => again.assign(uid))).toEqual(first);
  });

  it('honours the split percentages within tolerance over 10k users', () => {
    const experiment: Experiment = {
      id: 'exp-weights',
      variants: [variant('a', 10), variant('b', 30), variant('c', 60)],
    };
    const assigner = createVariantAssigner(experiment);
    const counts = new Map<string | null, number>();
    for (const uid of uids) {
      const name = assigner.assign(uid);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    // Binomial standard deviation at n=10k is at most 0.5 points; 2 points is a four-sigma band.
    expect(Math.abs((counts.get('a') ?? 0) / 100 - 10)).toBeLessThan(2);
    expect(Math.abs((counts.get('b') ?? 0) / 100 - 30)).toBeLessThan(2);
    expect(Math.abs((counts.get('c') ?? 0) / 100 - 60)).toBeLessThan(2);
    expect(counts.get(null)).toBeUndefined();
  });

  it('gives another experiment an independent assignment', () => {
    const one = createVariantAssigner({ id: 'exp-x', variants: [variant('a', 50), variant('b', 50)] });
    const two = createVariantAssigner({ id: 'exp-y', variants: [variant('a', 50), variant('b', 50)] });
    const same = uids.filter((uid) => one.assign(uid) === two.assign(uid)).length;
    expect(Math.abs(same / 100 - 50)).toBeLessThan(3);
  });

  it('lets an explicit user list override the hash', () => {
    const experiment: Experiment = { id: 'exp-2', variants: [variant('control', 100), variant('b', 0, ['vip'])] };
    const assigner = createVariantAssigner(experiment);
    expect(assigner.assign('vip')).toBe('b');
    expect(assigner.assign('someone')).toBe('control');
  });

  it('leaves users outside weights that sum to less than 100 unassigned (a holdout)', () => {
    const assigner = createVariantAssigner({ id: 'exp-3', variants: [variant('a', 20), variant('b', 20)] });
    const unassigned = uids.filter((uid) => assigner.assign(uid) === null).length;
    expect(Math.abs(unassigned / 100 - 60)).toBeLessThan(2);
  });
});
