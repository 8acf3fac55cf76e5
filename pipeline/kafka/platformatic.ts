import { type MessageToProduce, Producer } from '@platformatic/kafka';
import type { Message } from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { platformaticPartitioner } from './partition.ts';
import type { ProduceTransport } from './producer.ts';

/** The stages': idempotent, the library's retries, six, the delay doubling from 250 ms to 5 s (about 13 s). */
const pipelineSettings = {
  idempotent: true,
  retries: 6,
  retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(5_000, 250 * 2 ** (attempt - 1)),
};

/**
 * Callers waiting on each record (the facade, services, when measured on this client): an outage must become a
 * prompt 503, so short timeouts and three retries, 100 ms doubling (the bounds kafkajs's `boundedRetry` gives
 * them). Not idempotent, so a retry never waits on a lost idempotent session; a repeat is harmless, as every such
 * record carries an id its consumer de-duplicates on (ingest request ids).
 */
const requestSettings = {
  idempotent: false,
  retries: 3,
  retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(1_000, 100 * 2 ** (attempt - 1)),
  connectTimeout: 2_000,
  timeout: 5_000,
};

/**
 * `@platformatic/kafka` (maintained, pure JavaScript) behind the record producer: the stages' client unless
 * `MSGXC_KAFKA_PRODUCER_CLIENT=kafkajs`. Where records move in bulk it produces about 1.8× what kafkajs does on the
 * same machine (`npm run bench -- runtime clients`). Its `request` settings serve `npm run bench -- api clients`,
 * which measures it behind the facade (README.md beside this file). The same settings as kafkajs's producers of
 * each profile: acks = all, no compression, no topic auto-creation.
 *
 * - **Partitioning as everyone else's:** the library's default partitioner keeps murmur2's sign bit, so a key
 *   would land on another partition than kafkajs and the Java client put it. `platformaticPartitioner`
 *   (`partition.ts`) places keys as its `compatibilityPartitioner` does, without BigInt. Ingest keys, lane keys
 *   and retry keys depend on it (`docs/ARCHITECTURE.md`).
 * - **Retries** (`pipeline`): the library's own, six, the delay doubling from 250 ms to 5 s: about 13 s of
 *   back-off, a little more than kafkajs's defaults give the pipeline producer (about 9 s), enough to ride out a
 *   broker restarting. After that the error reaches the stage runtime, which ends the batch uncommitted; the
 *   records are redone with the same ids and de-duplicated downstream. The `request` profile bounds them to about
 *   a second of back-off (`requestSettings`).
 * - **An idempotent session lost** by the broker (restart, producer id expired) starts a new one (the library
 *   does, since 2.12).
 */
export function platformaticTransport(
  config: Config,
  log?: Logger,
  profile: 'pipeline' | 'request' = 'pipeline',
): ProduceTransport {
  let producer: Producer | undefined;
  const open = () => {
    producer ??= new Producer({
      clientId: config.kafka.clientId,
      bootstrapBrokers: config.kafka.brokers,
      acks: -1,
      autocreateTopics: false,
      partitioner: platformaticPartitioner,
      ...(profile === 'request' ? requestSettings : pipelineSettings),
    });
    return producer;
  };
  return {
    async connect() {
      await open().listApis();
    },
    async send(topicMessages) {
      const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
      for (const { topic, messages: batch } of topicMessages) {
        for (const message of batch) messages.push(toProduce(topic, message));
      }
      try {
        await open().send({ messages, acks: -1 });
      } catch (error) {
        log?.debug({ err: error }, 'produce failed after the client retried');
        throw error;
      }
    },
    async disconnect() {
      const closing = producer;
      producer = undefined;
      await closing?.close();
    },
    onDisconnect() {
      // The client reconnects by itself on the next send: nothing to forget.
    },
  };
}

function toProduce(topic: string, message: Message): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  const produced: MessageToProduce<Buffer, Buffer, Buffer, Buffer> = { topic };
  const key = bytes(message.key);
  if (key !== undefined) produced.key = key;
  const value = bytes(message.value);
  if (value !== undefined) produced.value = value;
  if (message.headers) produced.headers = headerBytes(message.headers);
  return produced;
}

function bytes(value: string | Buffer | null | undefined): Buffer | undefined {
  if (value == null) return undefined;
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

/**
 * kafkajs allows a header several values; the pipeline never writes more than one, so the first is kept. Names
 * are bytes too: without serialisers the client writes a header's name as given, and refuses a string.
 */
function headerBytes(headers: NonNullable<Message['headers']>): Map<Buffer, Buffer> {
  const out = new Map<Buffer, Buffer>();
  for (const [name, value] of Object.entries(headers)) {
    const encoded = bytes(Array.isArray(value) ? value[0] : value);
    if (encoded !== undefined) out.set(Buffer.from(name), encoded);
  }
  return out;
}
