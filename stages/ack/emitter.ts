import { CompressionTypes, type Producer } from 'kafkajs';
import type { Config } from '../../pipeline/config/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { OutputRecord } from '../../pipeline/runtime/types.ts';
import { createSerde, type Serde } from '../../pipeline/serde/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';

/**
 * Produces records outside a stage handler (the escalation sweep, the HTTP routes): Avro through the
 * registry, all records in one send, resolved once every in-sync replica has them.
 */
export interface Emitter {
  emit(records: readonly OutputRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function createEmitter(
  config: Config,
  log: Logger,
  options: { serde?: Serde; producer?: Producer } = {},
): Emitter {
  const serde = options.serde ?? createSerde(config);
  const producer =
    options.producer ?? createKafka(config, log.child({ component: 'kafkajs' })).producer(producerConfig);
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= producer.connect();
    connected.catch(() => {
      connected = undefined;
    });
    return connected;
  };

  return {
    async emit(records) {
      if (records.length === 0) return;
      // Encoding first: a registry outage fails before anything is written.
      const encoded = await Promise.all(
        records.map(async (record) => ({
          topic: topicName(config, record.topic),
          message: {
            key: record.key ?? null,
            value: await serde.encode(record.topic, record.value),
            ...(record.headers ? { headers: record.headers } : {}),
          },
        })),
      );
      const byTopic = new Map<string, (typeof encoded)[number]['message'][]>();
      for (const { topic, message } of encoded) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
      await connect();
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    },
    async close() {
      if (connected) await producer.disconnect();
    },
  };
}
