import { connect, type Socket } from 'node:net';
import type { Message } from 'kafkajs';
import type { ProduceTransport } from '../../pipeline/kafka/index.ts';
import { partitionOfKey } from '../../pipeline/kafka/partition.ts';

/**
 * A prototype, for measurement only: a produce transport that writes Produce v3 requests (RecordBatch v2, acks =
 * all) on one socket to the one local broker, encoding into one buffer per request, to see what the facade costs
 * with a producer of small footprint (`npm run bench -- api lean`). It knows one broker, partitions by murmur2 as
 * the real clients do, and fails a call on any error code; no retries, no metadata refresh, no TLS. Not for
 * production: the facade's producer is `pipeline/kafka`.
 */

const castagnoli = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array, from: number, to: number): number {
  let crc = 0xffffffff;
  for (let at = from; at < to; at++) crc = castagnoli[(crc ^ bytes[at]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

class Writer {
  buf = Buffer.allocUnsafe(64 * 1024);
  at = 0;
  ensure(n: number) {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
  int8(v: number) {
    this.ensure(1);
    this.at = this.buf.writeInt8(v, this.at);
  }
  int16(v: number) {
    this.ensure(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  int32(v: number) {
    this.ensure(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  int64(v: number) {
    this.ensure(8);
    this.at = this.buf.writeBigInt64BE(BigInt(v), this.at);
  }
  uvarint(v: number) {
    this.ensure(5);
    let value = v >>> 0;
    while (value > 0x7f) {
      this.buf[this.at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buf[this.at++] = value;
  }
  varint(v: number) {
    this.uvarint((v << 1) ^ (v >> 31));
  }
  string(s: string | null) {
    if (s === null) return this.int16(-1);
    const length = Buffer.byteLength(s);
    this.int16(length);
    this.ensure(length);
    this.at += this.buf.write(s, this.at, 'utf8');
  }
  varBytes(bytes: Buffer | string | null | undefined) {
    if (bytes === null || bytes === undefined) return this.varint(-1);
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    this.varint(data.length);
    this.ensure(data.length);
    data.copy(this.buf, this.at);
    this.at += data.length;
  }
}

const recordWriter = new Writer();
const requestWriter = new Writer();

/** A RecordBatch v2 of `messages` (all written now), framed for Produce v3's records field. */
function writeBatch(w: Writer, messages: Message[], now: number) {
  const sizeAt = w.at;
  w.int32(0); // records field size, set below
  const start = w.at;
  w.int64(0); // base offset
  w.int32(0); // batch length, set below
  const afterLength = w.at;
  w.int32(-1); // partition leader epoch
  w.int8(2); // magic
  const crcAt = w.at;
  w.int32(0);
  const crcFrom = w.at;
  w.int16(0); // attributes: no compression, create time
  w.int32(messages.length - 1); // last offset delta
  w.int64(now);
  w.int64(now);
  w.int64(-1); // producer id
  w.int16(-1); // producer epoch
  w.int32(-1); // base sequence
  w.int32(messages.length);
  const record = recordWriter;
  messages.forEach((message, offsetDelta) => {
    record.at = 0;
    record.int8(0);
    record.varint(0); // timestamp delta
    record.varint(offsetDelta);
    record.varBytes(message.key);
    record.varBytes(message.value);
    const headers = Object.entries(message.headers ?? {}).filter(([, value]) => value !== undefined);
    record.varint(headers.length);
    for (const [name, value] of headers) {
      record.varBytes(name);
      record.varBytes(value as Buffer | string);
    }
    w.varint(record.at);
    w.ensure(record.at);
    record.buf.copy(w.buf, w.at, 0, record.at);
    w.at += record.at;
  });
  w.buf.writeInt32BE(w.at - afterLength, afterLength - 4);
  w.buf.writeUInt32BE(crc32c(w.buf, crcFrom, w.at), crcAt);
  w.buf.writeInt32BE(w.at - start, sizeAt);
}

export function leanTransport(brokers: string[], partitions: ReadonlyMap<string, number>): ProduceTransport {
  const [host, port] = (brokers[0] ?? '127.0.0.1:9092').split(':') as [string, string];
  let socket: Socket | null = null;
  let correlation = 0;
  const waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  let pending: Buffer = Buffer.alloc(0);
  const disconnected: (() => void)[] = [];

  const onData = (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) break;
      const response = pending.subarray(4, 4 + size);
      pending = pending.subarray(4 + size);
      const id = response.readInt32BE(0);
      const call = waiting.get(id);
      if (!call) continue;
      waiting.delete(id);
      let at = 4;
      let failure: string | null = null;
      const topics = response.readInt32BE(at);
      at += 4;
      for (let topic = 0; topic < topics; topic++) {
        at += 2 + response.readInt16BE(at);
        const count = response.readInt32BE(at);
        at += 4;
        for (let partition = 0; partition < count; partition++) {
          const error = response.readInt16BE(at + 4);
          if (error !== 0) failure = `error code ${error}`;
          at += 4 + 2 + 8 + 8; // index, error code, base offset, log append time
        }
      }
      if (failure) call.reject(new Error(`Kafka answered ${failure}`));
      else call.resolve();
    }
  };

  return {
    connect: () =>
      new Promise((resolve, reject) => {
        if (socket) return resolve();
        const opened = connect({ host, port: Number(port), noDelay: true }, () => resolve());
        opened.on('data', onData);
        opened.once('error', reject);
        opened.once('close', () => {
          socket = null;
          for (const [, call] of waiting) call.reject(new Error('the connection closed'));
          waiting.clear();
          for (const listener of disconnected) listener();
        });
        socket = opened;
      }),
    send: (topicMessages) =>
      new Promise((resolve, reject) => {
        if (!socket) return reject(new Error('not connected'));
        const id = ++correlation;
        const w = requestWriter;
        w.at = 0;
        w.int32(0);
        w.int16(0); // Produce
        w.int16(3);
        w.int32(id);
        w.string('msgxc-lean');
        w.string(null); // transactional id
        w.int16(-1); // acks = all
        w.int32(5000);
        w.int32(topicMessages.length);
        const now = Date.now();
        for (const { topic, messages } of topicMessages) {
          w.string(topic);
          const byPartition = new Map<number, Message[]>();
          const count = partitions.get(topic);
          if (count === undefined) return reject(new Error(`no partition count for ${topic}`));
          for (const message of messages) {
            const partition = partitionOfKey(message.key ?? '', count);
            const list = byPartition.get(partition);
            if (list) list.push(message);
            else byPartition.set(partition, [message]);
          }
          w.int32(byPartition.size);
          for (const [partition, list] of byPartition) {
            w.int32(partition);
            writeBatch(w, list, now);
          }
        }
        w.buf.writeInt32BE(w.at - 4, 0);
        waiting.set(id, { resolve, reject });
        socket.write(Buffer.from(w.buf.subarray(0, w.at)));
      }),
    disconnect: async () => {
      socket?.destroy();
      socket = null;
    },
    onDisconnect: (listener) => {
      disconnected.push(listener);
    },
  };
}
