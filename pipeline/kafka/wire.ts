import type { Message } from 'kafkajs';

/**
 * A produce call's records packed into one ArrayBuffer, so the sender thread (sender-thread.ts) gets them by
 * transfer rather than a structured clone: a Buffer's clone copies the whole pooled slab behind it, and a
 * message object per record costs the posting thread more than the copy. Unpacked, keys, values and header
 * values are views on the transferred buffer.
 *
 * Layout, integers little-endian: topics (u32); per topic its name (bytes), its messages (u32); per message
 * its key and value (bytes, or length -1 for null), its headers (u32), per header its name (bytes) and value
 * (bytes). `bytes` is an i32 length and that many bytes. A header value given as a list is one header per
 * item, and comes back as a list.
 */

export type TopicMessages = { topic: string; messages: Message[] }[];

type Bytes = string | Buffer | null | undefined;

const lengthOf = (bytes: Bytes) =>
  bytes === null || bytes === undefined ? 0 : typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;

function headerItems(headers: Message['headers']): [string, Bytes][] {
  const items: [string, Bytes][] = [];
  if (headers === undefined) return items;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) items.push([name, item]);
    else items.push([name, value]);
  }
  return items;
}

function checkMessage(message: Message): void {
  if (message.partition !== undefined || message.timestamp !== undefined) {
    // The record producer sets neither; carrying them would be a field nobody tests.
    throw new TypeError('packed produce calls carry keys, values and headers only');
  }
}

export function packTopicMessages(topicMessages: TopicMessages): ArrayBuffer {
  let size = 4;
  const headersOf: [string, Bytes][][] = [];
  for (const { topic, messages } of topicMessages) {
    size += 4 + Buffer.byteLength(topic) + 4;
    for (const message of messages) {
      checkMessage(message);
      const items = headerItems(message.headers);
      headersOf.push(items);
      size += 4 + lengthOf(message.key) + 4 + lengthOf(message.value) + 4;
      for (const [name, value] of items) size += 4 + Buffer.byteLength(name) + 4 + lengthOf(value);
    }
  }
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  const u32 = (value: number) => {
    at = out.writeUInt32LE(value, at);
  };
  const bytes = (value: Bytes) => {
    if (value === null || value === undefined) {
      at = out.writeInt32LE(-1, at);
    } else if (typeof value === 'string') {
      const written = out.write(value, at + 4, 'utf8');
      out.writeInt32LE(written, at);
      at += 4 + written;
    } else {
      out.writeInt32LE(value.length, at);
      value.copy(out, at + 4);
      at += 4 + value.length;
    }
  };
  u32(topicMessages.length);
  let message = 0;
  for (const { topic, messages } of topicMessages) {
    bytes(topic);
    u32(messages.length);
    for (const { key, value } of messages) {
      bytes(key);
      bytes(value);
      const items = headersOf[message++] ?? [];
      u32(items.length);
      for (const [name, headerValue] of items) {
        bytes(name);
        bytes(headerValue);
      }
    }
  }
  if (at !== size) throw new Error(`packed ${at} bytes of ${size}`);
  return out.buffer as ArrayBuffer;
}

export function unpackTopicMessages(packed: ArrayBuffer): TopicMessages {
  const view = Buffer.from(packed);
  let at = 0;
  const u32 = () => {
    const value = view.readUInt32LE(at);
    at += 4;
    return value;
  };
  const bytes = (): Buffer | null => {
    const length = view.readInt32LE(at);
    at += 4;
    if (length === -1) return null;
    if (length < 0 || at + length > view.length) throw new RangeError(`a packed field of ${length} bytes at ${at}`);
    const field = view.subarray(at, at + length);
    at += length;
    return field;
  };
  const text = () => bytes()?.toString('utf8') ?? '';
  const topicMessages: TopicMessages = [];
  for (let topics = u32(); topics > 0; topics--) {
    const topic = text();
    const messages: Message[] = [];
    for (let count = u32(); count > 0; count--) {
      const key = bytes();
      const value = bytes();
      const headerCount = u32();
      if (headerCount === 0) {
        messages.push({ key, value });
        continue;
      }
      const headers: Record<string, Buffer | Buffer[]> = {};
      for (let header = 0; header < headerCount; header++) {
        const name = text();
        const headerValue = bytes() ?? Buffer.alloc(0);
        const seen = headers[name];
        headers[name] =
          seen === undefined ? headerValue : Array.isArray(seen) ? [...seen, headerValue] : [seen, headerValue];
      }
      messages.push({ key, value, headers });
    }
    topicMessages.push({ topic, messages });
  }
  if (at !== view.length) throw new RangeError(`${view.length - at} bytes left after the packed messages`);
  return topicMessages;
}
