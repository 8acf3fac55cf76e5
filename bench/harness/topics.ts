import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../pipeline/config/index.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';

/** Watches a logical topic from its beginning, decoding every record through the registry, until stopped. */
export interface TopicWatch<T> {
  values: T[];
  stop(): Promise<void>;
}

export async function watchTopic<T>(config: Config, logical: string): Promise<TopicWatch<T>> {
  const kafka = new Kafka({ brokers: config.kafka.brokers, clientId: 'e2e-watch', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: `${config.kafka.topicPrefix}e2e-watch-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 200,
  });
  const serde = createSerde(config);
  const values: T[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topicName(config, logical)], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) values.push((await serde.decode(message.value)) as T);
    },
  });
  return { values, stop: () => consumer.disconnect() };
}

export interface Stamped<T> {
  at: number;
  key: string | null;
  value: T;
  headers: Record<string, string>;
}

/** Every record a logical topic holds now, decoded through the registry, with its Kafka timestamp. */
export async function readAll<T>(config: Config, logical: string): Promise<Stamped<T>[]> {
  const kafka = new Kafka({ brokers: config.kafka.brokers, clientId: 'e2e-read', logLevel: logLevel.NOTHING });
  const topic = topicName(config, logical);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  for (const mark of await admin.fetchTopicOffsets(topic)) {
    if (Number(mark.high) > Number(mark.low)) ends.set(mark.partition, Number(mark.high));
  }
  await admin.disconnect();
  const serde = createSerde(config);
  const records: Stamped<T>[] = [];
  if (ends.size === 0) return records;
  const consumer = kafka.consumer({
    groupId: `${config.kafka.topicPrefix}e2e-read-${randomBytes(3).toString('hex')}`,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${logical} timed out`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (message.value) {
              records.push({
                at: Number(message.timestamp),
                key: message.key?.toString('utf8') ?? null,
                value: (await serde.decode(message.value)) as T,
                headers: Object.fromEntries(
                  Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
                ),
              });
            }
            if (Number(message.offset) + 1 >= (ends.get(partition) ?? 0)) ends.delete(partition);
            if (ends.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}
