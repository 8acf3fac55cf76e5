import { describe, expect, it } from 'vitest';
import { packTopicMessages, type TopicMessages, unpackTopicMessages } from './wire.ts';

describe('packed produce calls', () => {
  it('carry topics, keys, values, nulls and headers through one buffer', () => {
    const calls: TopicMessages = [
      {
        topic: 'msgxc.ingest',
        messages: [
          { key: 'r-1', value: Buffer.from([0, 1, 2, 255]), headers: { trace: 'ab', 'x-retry': Buffer.from('3') } },
          { key: null, value: null },
          { key: Buffer.from('clé ✓'), value: Buffer.alloc(0), headers: { many: ['a', 'b'], skipped: undefined } },
        ],
      },
      { topic: 'msgxc.événements', messages: [{ key: 'k', value: Buffer.from('v') }] },
    ];
    const unpacked = unpackTopicMessages(packTopicMessages(calls));
    expect(unpacked.map(({ topic }) => topic)).toEqual(['msgxc.ingest', 'msgxc.événements']);
    const [first, second, third] = unpacked[0]?.messages ?? [];
    expect(first?.key?.toString()).toBe('r-1');
    expect(first?.value).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(first?.headers).toEqual({ trace: Buffer.from('ab'), 'x-retry': Buffer.from('3') });
    expect(second).toEqual({ key: null, value: null });
    expect(third?.key?.toString()).toBe('clé ✓');
    expect(third?.value).toEqual(Buffer.alloc(0));
    expect(third?.headers).toEqual({ many: [Buffer.from('a'), Buffer.from('b')] });
    expect(unpacked[1]?.messages[0]?.value?.toString()).toBe('v');
  });

  it('packs into a buffer of its own, whole, so it can be transferred', () => {
    const packed = packTopicMessages([{ topic: 't', messages: [{ key: 'k', value: Buffer.from('value') }] }]);
    expect(packed.byteLength).toBe(4 + (4 + 1 + 4) + (4 + 1) + (4 + 5) + 4);
  });

  it('refuses fields it does not carry, and a truncated buffer', () => {
    expect(() => packTopicMessages([{ topic: 't', messages: [{ key: 'k', value: null, partition: 2 }] }])).toThrow(
      TypeError,
    );
    const packed = packTopicMessages([{ topic: 't', messages: [{ key: 'k', value: Buffer.from('value') }] }]);
    expect(() => unpackTopicMessages(packed.slice(0, packed.byteLength - 2))).toThrow(RangeError);
  });
});
