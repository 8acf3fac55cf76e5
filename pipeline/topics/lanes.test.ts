import { describe, expect, it } from 'vitest';
import { fanoutTopicFor } from './lanes.ts';

describe('fanout lanes', () => {
  it('gives urgent, normal and low urgency jobs topics of their own', () => {
    expect(fanoutTopicFor(4)).toBe('fanout.urgent');
    expect(fanoutTopicFor(3)).toBe('fanout');
    expect(fanoutTopicFor(2)).toBe('fanout.bulk');
    expect(fanoutTopicFor(1)).toBe('fanout.bulk');
    expect(fanoutTopicFor(0)).toBe('fanout');
  });
});
