import { CompressionTypes, type Message } from 'kafkajs';
import type { Config } from '../../pipeline/config/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { OutputRecord } from '../../pipeline/runtime/types.ts';
import type { RecordSink } from '../../pipeline/schedule/types.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';

/**
 * A producer for components that are not stages (the scheduler, the cancel API): records are encoded through
 * the registry like any stage's outputs and sent in one batch, resolved only once every in-sync replica has
 * them — the scheduler marks rows done only after that.
 */
export async function createKafkaSink(config: Config, log: Logger): Promise<RecordSink & { close(): Promise<void> }> {
  const serde = createSerde(config);
  const producer = createKafka(config, log.child({ component: 'kafkajs' })).producer(producerConfig);
  await producer.connect();
  return {
    async send(records: OutputRecord[]) {
      if (records.length === 0) return;
      const byTopic = new Map<string, Message[]>();
      for (const record of records) {
        const topic = topicName(config, record.topic);
        const value = await serde.encode(record.topic, record.value);
        const messages = byTopic.get(topic) ?? [];
        messages.push({ key: record.key ?? null, value, ...(record.headers ? { headers: record.headers } : {}) });
        byTopic.set(topic, messages);
      }
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    },
    async close() {
      await producer.disconnect();
    },
  };
}
