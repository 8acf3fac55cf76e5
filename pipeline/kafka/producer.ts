import { type Admin, CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import type { Codec, OutputRecord } from '../runtime/types.ts';
import { topicName } from '../topics/topology.ts';
import type { AvroTopic, TopicInput } from '../topics/values.ts';
import { type BatchingOptions, createBatcher } from './batcher.ts';
import { messageBytes, splitByBytes } from './bytes.ts';
import { createKafka, producerConfig, requestProducerConfig } from './client.ts';
import { platformaticTransport } from './platformatic.ts';

/**
 * The one record producer: encode with the serde, group by topic, one `sendBatch` per request (split only
 * where a request would exceed what the broker takes), resolved once every in-sync replica has the records
 * (acks = all). Every component that writes to Kafka goes through it: the stage runtime's outputs, retries
 * and dead letters, the HTTP facade and the services' ingest producer, the gateway's acks and check-ins, the
 * scheduler, the ack stage's escalation sweep and the delivery stages' retry queue. See README.md beside it for
 * the profiles.
 */

/** A record for an Avro topic of the topology table, its value typed by the topic's schema. */
export type TopicRecord<T extends AvroTopic = AvroTopic> = {
  [K in T]: { topic: K; key?: string | null; value: TopicInput<K>; headers?: Record<string, string> };
}[T];

/** A record whose value is already in wire format (the runtime's outputs, raw retry and dead-letter bytes). */
export interface EncodedRecord {
  /** Logical topic name; the Kafka topic is `topicName(config, topic)`. */
  topic: string;
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Message['headers'];
}

/**
 * What the record producer needs of a Kafka client: one produce call with every topic's messages, acks = all,
 * resolved once acknowledged: `@platformatic/kafka` (`platformatic.ts`) or kafkajs (`kafkajsTransport`).
 */
export interface ProduceTransport {
  connect(): Promise<void>;
  send(topicMessages: { topic: string; messages: Message[] }[]): Promise<void>;
  disconnect(): Promise<void>;
  /** Called when the client lost its connection, so the next send connects again. */
  onDisconnect(listener: () => void): void;
}

export interface PreparedRecord {
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/** Where records go; resolves once Kafka acknowledged them all. The serde checks each value against its topic's schema. */
export interface RecordSink {
  send(records: readonly OutputRecord[]): Promise<void>;
}

/** A typed producer for one Avro topic: the value type comes from the topology table. */
export interface TopicProducer<V> {
  /** Encodes (and validates) a value; a registry outage fails here, before anything is written. */
  prepare(value: V, key: string, headers?: Record<string, string>): Promise<PreparedRecord>;
  /** Resolves once Kafka acknowledged every record. */
  send(records: readonly PreparedRecord[]): Promise<void>;
  publish(value: V, key: string, headers?: Record<string, string>): Promise<void>;
}

export interface RecordProducer extends RecordSink {
  connect(): Promise<void>;
  /** The typed producer of one topic (`producer.topic('ingest')` takes `IngestRequestInput`). */
  topic<T extends AvroTopic>(topic: T): TopicProducer<TopicInput<T>>;
  /** Produces records already encoded; resolves with the number of produce requests that carried them. */
  sendEncoded(records: readonly EncodedRecord[], options?: { maxBytes?: number }): Promise<number>;
  /** Resolves when a broker answers a metadata request (readiness). */
  probe(): Promise<void>;
  /** Sends what a linger still holds and waits for every send in flight. */
  flush(): Promise<void>;
  /** Flushes, then disconnects (only what it created: a shared kafkajs client stays open). */
  close(): Promise<void>;
}

/**
 * - `pipeline` (the default): idempotent, the client's own retries; a failure is thrown as the client raised it,
 *   for the stage runtime's classification.
 * - `request`: for callers that wait on each record (HTTP requests, services): TCP_NODELAY sockets, bounded
 *   retries (about 3 s), a failure is a retriable `KAFKA_UNAVAILABLE` (HTTP 503), and records handed in
 *   during one event-loop turn go out in one request with one request in flight at a time (group commit),
 *   the settings the facade's `npm run bench -- api` was tuned with.
 */
export type ProducerProfile = 'pipeline' | 'request';

export interface RecordProducerOptions {
  profile?: ProducerProfile;
  /** Encodes `send`'s values; the registry-backed serde by default (created on first use). */
  codec?: Codec;
  /** An existing client to create the producer from (the runtime shares one with its consumers). */
  kafka?: Kafka;
  log?: Logger;
  /** Gathers records of many callers into one request; `request` gathers per event-loop turn by default. */
  batching?: BatchingOptions | false;
  /** Bytes per produce request at most (split in order beyond that); `config.runtime.maxProduceBytes` by default. */
  maxBytes?: number;
  /** The Kafka client to produce through; by default the one `config.kafka.producerClient` names for the profile. */
  transport?: ProduceTransport;
}

export function createRecordProducer(config: Config, options: RecordProducerOptions = {}): RecordProducer {
  const profile = options.profile ?? 'pipeline';
  const log = options.log ?? createLogger(config, 'producer');
  const kafka =
    options.kafka ?? createKafka(config, log.child({ component: 'kafkajs' }), { lowLatency: profile === 'request' });
  const transport = options.transport ?? defaultTransport(config, kafka, profile, log);
  const connection = lazyConnection(transport);
  const probe = adminProbe(kafka.admin({ retry: { retries: 0 } }));
  const maxBytesDefault = options.maxBytes ?? config.runtime.maxProduceBytes;
  let codec: Promise<Codec> | undefined = options.codec ? Promise.resolve(options.codec) : undefined;
  let closed = false;

  const encode = async (topic: string, value: unknown) => {
    codec ??= import('../serde/index.ts').then(({ createSerde }) => createSerde(config));
    return (await codec).encode(topic, value);
  };
  const produce = async (records: EncodedRecord[], maxBytes = maxBytesDefault): Promise<number> => {
    try {
      await connection.connect();
      return await sendGrouped(transport, config, records, maxBytes);
    } catch (error) {
      if (profile === 'pipeline') throw error;
      throw new MsgxcError('KAFKA_UNAVAILABLE', `Kafka did not acknowledge: ${(error as Error).message}`, {
        retriable: true,
        status: 503,
        cause: error,
      });
    }
  };
  const batching = options.batching ?? (profile === 'request' ? requestBatching(config) : false);
  const batcher =
    batching === false ? undefined : createBatcher((records: EncodedRecord[]) => produce(records), batching);
  const sendEncoded = (records: readonly EncodedRecord[], sendOptions: { maxBytes?: number } = {}) => {
    if (closed) return Promise.reject(new MsgxcError('PRODUCER_CLOSED', 'the producer is closed'));
    if (records.length === 0) return Promise.resolve(0);
    return batcher ? batcher.add(records) : produce([...records], sendOptions.maxBytes);
  };

  return {
    connect: connection.connect,
    async send(records) {
      if (records.length === 0) return;
      // Encoding first: a registry outage or a value that does not fit fails before anything is written.
      const encoded = await Promise.all(
        records.map(
          async (record): Promise<EncodedRecord> => ({
            topic: record.topic,
            key: record.key ?? null,
            value: await encode(record.topic, record.value),
            ...(record.headers ? { headers: record.headers } : {}),
          }),
        ),
      );
      await sendEncoded(encoded);
    },
    topic: (topic) => topicProducer(topic, encode, sendEncoded),
    sendEncoded,
    probe: probe.run,
    async flush() {
      await batcher?.flush();
    },
    async close() {
      closed = true;
      await batcher?.flush();
      await Promise.all([connection.close(), probe.close()]);
    },
  };
}

function topicProducer<T extends AvroTopic>(
  topic: T,
  encode: (topic: string, value: unknown) => Promise<Buffer>,
  sendEncoded: (records: readonly EncodedRecord[]) => Promise<number>,
): TopicProducer<TopicInput<T>> {
  const prepare = async (value: TopicInput<T>, key: string, headers?: Record<string, string>) => ({
    key,
    value: await encode(topic, value),
    ...(headers === undefined ? {} : { headers }),
  });
  return {
    prepare,
    send: async (records) => {
      await sendEncoded(records.map((record) => ({ topic, ...record })));
    },
    publish: async (value, key, headers) => {
      await sendEncoded([{ topic, ...(await prepare(value, key, headers)) }]);
    },
  };
}

/**
 * Group commit for waiting callers: one produce request in flight; the records handed in meanwhile (and within
 * `requestLingerMs` of the first, 0 by default: the end of the event-loop turn) share the next. A linger did not
 * pay behind the facade: 1 ms cost more CPU per request, not less, and lowered the peak (pipeline/kafka/README.md).
 */
export const requestBatching = (config: Config): BatchingOptions => ({
  lingerMs: config.kafka.requestLingerMs,
  maxInFlight: 1,
  maxRecords: 2000,
});

/** Connects on first use; a failed connect or a lost connection is not cached, so the next send tries again. */
function lazyConnection(transport: ProduceTransport) {
  let connected: Promise<void> | null = null;
  transport.onDisconnect(() => {
    connected = null;
  });
  const connect = async () => {
    if (connected === null) {
      connected = transport.connect();
      connected.catch(() => {
        connected = null;
      });
    }
    await connected;
  };
  return {
    connect,
    async close() {
      if (connected !== null) await transport.disconnect();
    },
  };
}

/** Readiness: a broker answers a metadata request. The admin client connects on the first probe. */
function adminProbe(admin: Admin) {
  let connected: Promise<void> | null = null;
  return {
    async run() {
      connected ??= admin.connect();
      try {
        await connected;
        await admin.describeCluster();
      } catch (error) {
        connected = null;
        await admin.disconnect().catch(() => undefined);
        throw error;
      }
    },
    async close() {
      if (connected !== null) await admin.disconnect();
    },
  };
}

/**
 * One `sendBatch` with every topic's records; split (sequentially, so a partition's records keep their order)
 * only when the records exceed `maxBytes`, what the broker takes in one partition batch.
 */
async function sendGrouped(producer: ProduceTransport, config: Config, records: EncodedRecord[], maxBytes: number) {
  let total = 0;
  for (const record of records) total += messageBytes(record);
  const groups = total <= maxBytes ? [records] : splitByBytes(records, maxBytes);
  for (const group of groups) {
    const byTopic = new Map<string, Message[]>();
    for (const { topic, key, value, headers } of group) {
      const name = topicName(config, topic);
      const message: Message = headers === undefined ? { key, value } : { key, value, headers };
      const messages = byTopic.get(name);
      if (messages) messages.push(message);
      else byTopic.set(name, [message]);
    }
    await producer.send([...byTopic].map(([topic, messages]) => ({ topic, messages })));
  }
  return groups.length;
}

/**
 * `pipeline`: the client `config.kafka.producerClient` names (`@platformatic/kafka` by default, about 1.8× kafkajs
 * where records move in bulk). `request`: kafkajs. Behind the facade the other client did not win clearly
 * (within 8 % at the peak in six of nine runs, about 4 % less CPU per request at 70 % of it), so the issue's
 * rule, switch only on a clear win, keeps kafkajs there (pipeline/kafka/README.md).
 */
function defaultTransport(config: Config, kafka: Kafka, profile: ProducerProfile, log: Logger): ProduceTransport {
  if (profile === 'request') return kafkajsTransport(kafka.producer(requestProducerConfig));
  if (config.kafka.producerClient === 'platformatic') {
    return platformaticTransport(config, log.child({ component: 'platformatic-kafka' }));
  }
  return kafkajsTransport(kafka.producer(producerConfig));
}

/** kafkajs's producer behind the record producer (the facade's, and the stages' with MSGXC_KAFKA_PRODUCER_CLIENT=kafkajs). */
export function kafkajsTransport(producer: Producer): ProduceTransport {
  return {
    connect: () => producer.connect(),
    send: async (topicMessages) => {
      await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages });
    },
    disconnect: () => producer.disconnect(),
    onDisconnect: (listener) => {
      producer.on(producer.events.DISCONNECT, listener);
    },
  };
}
