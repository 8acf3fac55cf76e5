import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../../pipeline/config/index.ts';
import { createSerde } from '../../../pipeline/serde/index.ts';
import { topicName } from '../../../pipeline/topics/index.ts';

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
