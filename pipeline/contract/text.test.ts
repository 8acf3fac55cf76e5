import { describe, expect, it } from 'vitest';
import { illFormedField, illFormedPath } from './text.ts';

describe('well-formed text', () => {
  it('finds nothing in well-formed values, whatever their shape', () => {
    expect(illFormedPath({ msg: 'héllo 👋', opts: { data: { a: ['x', 1, null] } }, n: 3 })).toBeUndefined();
    expect(illFormedPath('plain')).toBeUndefined();
    expect(illFormedPath({ bytes: Buffer.from([0xff, 0xfe]) })).toBeUndefined();
  });

  it('names the path of a lone surrogate in a value, an array item or a key', () => {
    expect(illFormedPath('\ud800')).toEqual([]);
    expect(illFormedPath({ msg: 'ok', opts: { data: { list: ['fine', 'bad \udc00'] } } })).toEqual([
      'opts',
      'data',
      'list',
      1,
    ]);
    expect(illFormedPath({ data: { 'key \ud800': 'value' } })).toEqual(['data', 'key \ud800']);
    expect(illFormedField({ subject: 'ok', msg: 'x \udfff y' })).toBe('msg');
  });

  it('walks deep values without overflowing the stack', () => {
    let deep: unknown = '\ud800';
    for (let depth = 0; depth < 100_000; depth++) deep = [deep];
    expect(illFormedPath(deep)?.length).toBe(100_000);
  });
});
