import { describe, expect, it } from 'vitest';
import { DEFAULT_URGENCY, resolveUrgency } from './urgency.ts';

describe('resolveUrgency', () => {
  it('prefers the request, then the thread default, then the fallback', () => {
    expect(resolveUrgency(2, 4)).toBe(2);
    expect(resolveUrgency(null, 4)).toBe(4);
    expect(resolveUrgency(undefined, null)).toBe(DEFAULT_URGENCY);
    expect(resolveUrgency(null, null, 1)).toBe(1);
  });
  it('clamps to 1–4 and drops fractions', () => {
    expect(resolveUrgency(9, null)).toBe(4);
    expect(resolveUrgency(0, null)).toBe(1);
    expect(resolveUrgency(2.7, null)).toBe(2);
  });
});
