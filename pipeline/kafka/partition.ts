import type { ICustomPartitioner } from 'kafkajs';

/**
 * Where a key lands: Kafka's murmur2 (the Java client's `Utils.murmur2`) with the sign bit cleared, modulo the
 * partition count, as the Java client, kafkajs's default partitioner and `@platformatic/kafka`'s
 * `compatibilityPartitioner` all place keys. Ingest keys, lane keys, retry keys and the de-dup store's
 * partitions depend on every producer agreeing (docs/ARCHITECTURE.md).
 *
 * Written here because both clients compute it with 64-bit arithmetic on objects: kafkajs through its
 * BigInt-backed `Long`, `@platformatic/kafka` with BigInt, several allocations per four bytes of key. On the
 * facade's publish path that was about 5 % of the CPU (`npm run bench -- api profile=`); 32-bit `Math.imul`
 * gives the same hash without allocating.
 */

const seed = 0x9747b28c;
const m = 0x5bd1e995;

/** Kafka's murmur2 of `data`, as a signed 32-bit integer (what `Utils.murmur2` returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = seed ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16;
    if (tail >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** A reusable buffer for string keys, so hashing one allocates nothing (keys are ids: short). */
const scratch = Buffer.allocUnsafe(1024);

/** murmur2 of a key given as text (its UTF-8 bytes) or bytes. */
export function keyHash(key: string | Uint8Array): number {
  if (typeof key !== 'string') return murmur2(key);
  // At most three UTF-8 bytes per UTF-16 unit; a longer key gets a buffer of its own.
  if (key.length * 3 > scratch.length) return murmur2(Buffer.from(key, 'utf8'));
  const written = scratch.write(key, 0, 'utf8');
  return murmur2(scratch.subarray(0, written));
}

/** The partition of `key` among `partitions`. */
export const partitionOfKey = (key: string | Uint8Array, partitions: number): number =>
  (keyHash(key) & 0x7fffffff) % partitions;

/**
 * kafkajs's `DefaultPartitioner` with this murmur2: a given partition wins, a key is hashed over all the topic's
 * partitions, a keyless record goes round-robin over the partitions that have a leader.
 */
export const kafkajsPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return partitionOfKey(message.key, partitionMetadata.length);
    const available = partitionMetadata.filter((partition) => partition.leader >= 0);
    const pool = available.length > 0 ? available : partitionMetadata;
    const next = ((counters.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1) & 0x7fffffff;
    counters.set(topic, next);
    return pool[next % pool.length]!.partitionId;
  };
};

/** `@platformatic/kafka`'s partitioner contract (it takes the result modulo the partition count). */
export const platformaticPartitioner = (_message: unknown, key: Buffer | undefined): number =>
  Buffer.isBuffer(key) ? murmur2(key) & 0x7fffffff : 0;
