import type { Message } from 'kafkajs';

/** Bytes a message adds to a produce request, near enough: key, value, header names and values, and framing. */
export function messageBytes(message: Message): number {
  const size = (value: Buffer | string | null | undefined) =>
    value == null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  let bytes = 24 + size(message.key) + size(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name) + 8;
    for (const item of Array.isArray(value) ? value : [value]) bytes += size(item);
  }
  return bytes;
}

/**
 * Splits messages into groups of at most `maxBytes` each, in order. The broker refuses a partition's batch
 * above message.max.bytes and kafkajs puts a request's messages for one partition into one batch, so a
 * request under that size is always accepted. A message alone above `maxBytes` gets a group of its own.
 */
export function splitByBytes<T extends Message>(messages: T[], maxBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
