import { describe, expect, it } from 'vitest';
import { countSegments } from './segments.ts';

describe('countSegments', () => {
  it('fits 160 GSM-7 characters in one segment and splits 161 into two of 153', () => {
    expect(countSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(countSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(countSegments('a'.repeat(306)).segments).toBe(2);
    expect(countSegments('a'.repeat(307)).segments).toBe(3);
  });

  it('counts extension characters as two septets', () => {
    expect(countSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(countSegments(`${'€'.repeat(80)}a`).segments).toBe(2);
  });

  it('switches the whole text to UCS-2 for one character outside GSM 03.38', () => {
    expect(countSegments(`${'a'.repeat(69)}ç`)).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(countSegments(`${'a'.repeat(70)}ç`).segments).toBe(2);
    expect(countSegments('こんにちは')).toEqual({ encoding: 'UCS-2', units: 5, segments: 1 });
  });

  it('never splits a surrogate pair between parts', () => {
    // 66 units then an emoji (2 units): 68 > 67, so the emoji starts the second part.
    const text = `${'x'.repeat(66)}😀${'y'.repeat(10)}`;
    expect(countSegments(text)).toEqual({ encoding: 'UCS-2', units: 78, segments: 2 });
    expect(countSegments('😀'.repeat(35)).segments).toBe(1);
    expect(countSegments('😀'.repeat(36)).segments).toBe(2);
  });

  it('bills an empty text as one segment', () => {
    expect(countSegments('').segments).toBe(1);
  });
});
