import { randomBytes } from 'node:crypto';
import type { Config } from '../../pipeline/config/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import { type Latencies, paced } from './latency.ts';

/** The same pacing over a plain topic: kafkajs producer (acks = all) → a consumer in its own group. */
export async function rawLatency(
  config: Config,
  options: { rate: number; seconds: number; warmup: number },
  tag: string,
): Promise<Latencies> {
  const kafka = createKafka(config, createLogger({ ...config, logLevel: 'warn' }, 'bench-raw'));
  const topic = topicName(config, `bench.raw-${tag}`);
  const admin = kafka.admin();
  const producer = kafka.producer(producerConfig);
  const consumer = kafka.consumer({
    groupId: `${config.kafka.topicPrefix}bench-raw-${tag}`,
    maxWaitTimeInMs: config.runtime.consumer.maxWaitMs,
  });
  const arrivals = new Map<string, number>();
  await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6 }] });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        arrivals.set(message.key?.toString() ?? '', performance.now());
      },
    });
    await joined;
    const payload = randomBytes(200);
    return await paced(
      options.rate,
      options.seconds,
      options.warmup,
      (n) => {
        const msg = `raw-${tag}-${n}`;
        return { msg, send: () => producer.send({ topic, acks: -1, messages: [{ key: msg, value: payload }] }) };
      },
      arrivals,
    );
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
  }
}
