import { randomBytes } from 'node:crypto';
import { compatibilityPartitioner } from '@platformatic/kafka';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkajsPartitioner, keyHash, murmur2, partitionOfKey, platformaticPartitioner } from './partition.ts';

const partitionMetadata = (count: number, leaderless: number[] = []) =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));

/** Keys of every length 0–100 (so every tail length), ASCII, multi-byte UTF-8 and raw bytes. */
function sampleKeys(): (string | Buffer)[] {
  const keys: (string | Buffer)[] = [''];
  for (let length = 1; length <= 100; length++) {
    keys.push(randomBytes(length));
    keys.push(randomBytes(length).toString('base64url').slice(0, length));
  }
  keys.push(crypto.randomUUID(), 'ünïcødé-ключ-鍵-🔑', 'x'.repeat(400), 'é'.repeat(400));
  return keys;
}

describe('murmur2', () => {
  it("gives Kafka's own test vectors (UtilsTest.testMurmur2)", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [text, hash] of vectors) {
      expect(murmur2(Buffer.from(text)), text).toBe(hash);
      expect(keyHash(text), text).toBe(hash);
    }
  });

  it('places every key where kafkajs and @platformatic/kafka place it', () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = kafkajsPartitioner();
    for (const partitions of [1, 3, 12, 64]) {
      const metadata = partitionMetadata(partitions);
      for (const key of sampleKeys()) {
        const message = { key, value: null };
        const expected = theirs({ topic: 't', partitionMetadata: metadata, message });
        expect(ours({ topic: 't', partitionMetadata: metadata, message })).toBe(expected);
        expect(partitionOfKey(key, partitions)).toBe(expected);
        const bytes = Buffer.isBuffer(key) ? key : Buffer.from(key);
        expect(platformaticPartitioner(undefined, bytes) % partitions).toBe(
          compatibilityPartitioner({ topic: 't' }, bytes) % partitions,
        );
      }
    }
  });
});

describe('kafkajsPartitioner', () => {
  it('keeps a partition the message names', () => {
    const partition = kafkajsPartitioner()({
      topic: 't',
      partitionMetadata: partitionMetadata(6),
      message: { key: 'k', value: null, partition: 4 },
    });
    expect(partition).toBe(4);
  });

  it('spreads keyless messages round-robin over the partitions that have a leader', () => {
    const partitioner = kafkajsPartitioner();
    const metadata = partitionMetadata(4, [1]);
    const seen = Array.from({ length: 9 }, () =>
      partitioner({ topic: 't', partitionMetadata: metadata, message: { value: 'v' } }),
    );
    expect(new Set(seen)).toEqual(new Set([0, 2, 3]));
    // Consecutive keyless messages never land twice in a row on one partition while three can take them.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  });

  it('does not move a key when one partition has no leader', () => {
    const healthy = kafkajsPartitioner()({
      topic: 't',
      partitionMetadata: partitionMetadata(8),
      message: { key: 'u1', value: null },
    });
    const degraded = kafkajsPartitioner()({
      topic: 't',
      partitionMetadata: partitionMetadata(8, [healthy === 0 ? 1 : 0]),
      message: { key: 'u1', value: null },
    });
    expect(degraded).toBe(healthy);
  });
});
