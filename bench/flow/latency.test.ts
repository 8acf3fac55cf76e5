import { describe, expect, it } from 'vitest';
import { quantile, summarise, timelineOf } from './latency.ts';

describe("the flow bench's latency summary", () => {
  it('takes the smallest value with at least q of them at or below it', () => {
    const hundreds = Array.from({ length: 200 }, (_, i) => i + 1);
    // p99 of 200 samples is the third-highest: index ceil(0.99 × 200) − 1 = 197.
    expect(quantile(hundreds, 0.99)).toBe(198);
    expect(quantile(hundreds, 0.5)).toBe(100);
    expect(quantile([], 0.99)).toBeNaN();
  });

  it('splits the tail by when each message was sent, so a burst shows apart from a spread tail', () => {
    // 20 messages a second for 15 s; the first second's 20 were slow (100–119 ms), the rest took 10 ms.
    const latencies = Array.from({ length: 300 }, (_, i) => (i < 20 ? 100 + i : 10));
    const sentAt = latencies.map((_, i) => i / 20);
    const summary = summarise(latencies, 2, sentAt);
    expect(summary).toMatchObject({ samples: 300, lost: 2, max: 119, p50: 10 });
    // Over all 300, p99 is the fourth-highest (index 296); over the first window's 200, the third.
    expect(summary.p99).toBe(116);
    expect(summary.timeline).toEqual([
      { fromSeconds: 0, p99: 117, samples: 200 },
      { fromSeconds: 10, p99: 10, samples: 100 },
    ]);
    expect(timelineOf(summary)).toBe('0–10 s 117.0 · 10–20 s 10.0');
  });

  it('puts every sample in the first window when no send times are given', () => {
    const summary = summarise([5, 6, 7], 0);
    expect(summary.timeline).toEqual([{ fromSeconds: 0, p99: 7, samples: 3 }]);
  });
});
