import { CompressionTypes, type Message, type Producer } from 'kafkajs';
import type { Config } from '../../pipeline/config/index.ts';
import type { Codec } from '../../pipeline/runtime/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';

/**
 * Where acks, read markers and check-ins go: Kafka, through the registry's Avro serde. Records arriving
 * from many sockets are gathered for a few milliseconds and sent in one produce call (kafkajs has no
 * linger of its own); each caller's promise settles when its batch is acknowledged or fails.
 */

export interface SinkRecord {
  topic: string;
  key: string;
  value: unknown;
}

export interface RecordSink {
  emit(records: SinkRecord[]): Promise<void>;
  /** Sends what is gathered and waits for every send in flight. */
  flush(): Promise<void>;
}

export interface SinkOptions {
  /** Sent as soon as this many records are gathered. */
  maxRecords?: number;
  /** Otherwise sent this long after the first record of a batch arrived. */
  lingerMs?: number;
}

type Waiter = { resolve: () => void; reject: (error: unknown) => void };

export function createKafkaSink(
  config: Config,
  producer: Producer,
  codec: Codec,
  options: SinkOptions = {},
): RecordSink {
  return createBatchingSink(async (records) => {
    const byTopic = new Map<string, Message[]>();
    const encoded = await Promise.all(records.map((record) => codec.encode(record.topic, record.value)));
    for (const [index, record] of records.entries()) {
      const topic = topicName(config, record.topic);
      let messages = byTopic.get(topic);
      if (!messages) {
        messages = [];
        byTopic.set(topic, messages);
      }
      messages.push({ key: record.key, value: encoded[index]! });
    }
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }, options);
}

export function createBatchingSink(
  send: (records: SinkRecord[]) => Promise<void>,
  options: SinkOptions = {},
): RecordSink {
  const maxRecords = options.maxRecords ?? 500;
  const lingerMs = options.lingerMs ?? 10;
  let gathered: SinkRecord[] = [];
  let waiters: Waiter[] = [];
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const sendNow = () => {
    clearTimeout(timer);
    timer = undefined;
    if (gathered.length === 0) return;
    const records = gathered;
    const settle = waiters;
    gathered = [];
    waiters = [];
    const sending = send(records).then(
      () => {
        for (const waiter of settle) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of settle) waiter.reject(error);
      },
    );
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
  };

  return {
    emit(records) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        gathered.push(...records);
        waiters.push({ resolve, reject });
        if (gathered.length >= maxRecords) sendNow();
        else timer ??= setTimeout(sendNow, lingerMs);
      });
    },
    async flush() {
      sendNow();
      await Promise.allSettled([...inFlight]);
    },
  };
}
