import { describe, expect, it } from 'vitest';
import { mergeLimit } from './index.ts';

const ready = () => Promise.resolve();

/** A stream that yields `values`, each after `gate` resolves (a stand-in for a page of a slow scan). */
async function* stream(name: string, values: number, gate: () => Promise<void>, closed: string[]) {
  try {
    for (let n = 0; n < values; n++) {
      await gate();
      yield `${name}${n}`;
    }
  } finally {
    closed.push(name);
  }
}

describe('mergeLimit', () => {
  it('lets the streams behind a stalled one through, keeping each stream in order', async () => {
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const closed: string[] = [];
    const gates: Record<string, () => Promise<void>> = { slow: () => stalled, a: ready, b: ready };
    const merged = mergeLimit(['slow', 'a', 'b'], 2, (name) => stream(name, 3, gates[name]!, closed));
    const seen: string[] = [];
    // 'slow' holds its first value until released; 'a' and then 'b' (opened when 'a' ends) go ahead.
    for (let n = 0; n < 6; n++) seen.push((await merged.next()).value as string);
    expect(seen).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
    release();
    for await (const value of merged) seen.push(value);
    expect(seen.slice(6)).toEqual(['slow0', 'slow1', 'slow2']);
    expect(closed.sort()).toEqual(['a', 'b', 'slow']);
  });

  it('closes every open stream when the consumer leaves early', async () => {
    const closed: string[] = [];
    for await (const value of mergeLimit(['x', 'y', 'z'], 2, (name) => stream(name, 5, ready, closed))) {
      if (value) break;
    }
    expect(closed.sort()).toEqual(['x', 'y']);
  });

  it('rethrows a failing stream and closes the others', async () => {
    const closed: string[] = [];
    async function* failing() {
      yield 'f0';
      throw new Error('scan failed');
    }
    const merged = mergeLimit(['ok', 'bad'], 2, (name) =>
      name === 'bad' ? failing() : stream(name, 100, ready, closed),
    );
    await expect(
      (async () => {
        for await (const _ of merged) {
          // drained only for its failure
        }
      })(),
    ).rejects.toThrow('scan failed');
    expect(closed).toEqual(['ok']);
  });
});
