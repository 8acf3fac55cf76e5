import { createHash } from 'node:crypto';
import { types } from 'cassandra-driver';

/**
 * The message id of a request: a version-1 time UUID whose time is the request's createdAt and whose
 * remaining bits (sub-millisecond ticks, clock sequence and node) come from a hash of the request id.
 *
 * Deterministic on purpose: when the runtime redelivers a request after a crash, triage stores the same row
 * and emits the same fanout job with the same message id, so Cassandra writes are idempotent and clients
 * drop the repeat by id. Time-based so a thread's messages sort by creation time in Cassandra.
 */
export function messageIdOf(requestId: string, createdAt: number): string {
  const hash = createHash('sha256').update('msgxc.message\0').update(requestId).digest();
  const ticks = hash.readUInt16BE(0) % 10_000;
  const clock = hash.subarray(2, 4);
  const node = Buffer.from(hash.subarray(4, 10));
  // RFC 9562 §6.10: a node id that is not a MAC address has the multicast bit set.
  node[0] = (node[0] ?? 0) | 0x01;
  return types.TimeUuid.fromDate(new Date(createdAt), ticks, node, clock).toString();
}
