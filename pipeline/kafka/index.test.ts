import { describe, expect, it } from 'vitest';
import { messageBytes, splitByBytes } from './index.ts';

describe('messageBytes', () => {
  it('counts key, value, header names and values (strings in UTF-8), plus framing', () => {
    const bare = messageBytes({ key: null, value: null });
    expect(messageBytes({ key: 'ab', value: Buffer.alloc(10) })).toBe(bare + 12);
    expect(messageBytes({ key: 'é', value: null })).toBe(bare + 2);
    const withHeaders = messageBytes({ key: null, value: null, headers: { h: 'xyz', list: ['a', Buffer.from('bc')] } });
    expect(withHeaders).toBe(bare + 1 + 8 + 3 + 4 + 8 + 3);
  });
});

describe('splitByBytes', () => {
  const message = (size: number) => ({ key: null, value: Buffer.alloc(size) });

  it('keeps everything in one group when it fits', () => {
    const messages = [message(10), message(10)];
    expect(splitByBytes(messages, 1_000)).toEqual([messages]);
  });

  it('cuts in order so no group exceeds the budget', () => {
    const messages = Array.from({ length: 10 }, () => message(100));
    const one = messageBytes(messages[0]!);
    const groups = splitByBytes(messages, one * 3);
    expect(groups.map((group) => group.length)).toEqual([3, 3, 3, 1]);
    expect(groups.flat()).toEqual(messages);
  });

  it('gives an oversized message a group of its own rather than dropping it', () => {
    const messages = [message(10), message(5_000), message(10)];
    expect(splitByBytes(messages, 1_000).map((group) => group.length)).toEqual([1, 1, 1]);
  });

  it('returns no groups for no messages', () => {
    expect(splitByBytes([], 1_000)).toEqual([]);
  });
});
