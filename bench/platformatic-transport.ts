import { Producer } from '@platformatic/kafka';
import type { Config } from '../pipeline/config/index.ts';
import type { Message, ProduceTransport } from '../pipeline/kafka/index.ts';

/**
 * `@platformatic/kafka` (maintained, pure JavaScript) behind pipeline/kafka's record producer, for comparing it
 * with kafkajs in `npm run bench -- runtime platformatic`: the same grouping and request sizes, the same
 * settings (idempotent, acks = all, no compression), only the client differs. Not used in production.
 */
export function platformaticTransport(config: Config): ProduceTransport {
  let producer: Producer | undefined;
  const open = () => {
    producer ??= new Producer({
      clientId: `${config.kafka.clientId}-platformatic`,
      bootstrapBrokers: config.kafka.brokers,
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
    });
    return producer;
  };
  return {
    async connect() {
      await open().listApis();
    },
    async send(topicMessages) {
      await open().send({
        acks: -1,
        messages: topicMessages.flatMap(({ topic, messages }) =>
          messages.map((message) => ({
            topic,
            ...optional('key', bytes(message.key)),
            ...optional('value', bytes(message.value)),
            ...(message.headers ? { headers: headerBytes(message.headers) } : {}),
          })),
        ),
      });
    },
    async disconnect() {
      const closing = producer;
      producer = undefined;
      await closing?.close();
    },
    onDisconnect() {
      // The client reconnects by itself on the next send.
    },
  };
}

const bytes = (value: string | Buffer | null | undefined) =>
  value == null ? undefined : Buffer.isBuffer(value) ? value : Buffer.from(value);

const optional = <K extends string>(key: K, value: Buffer | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, Buffer>>;

function headerBytes(headers: NonNullable<Message['headers']>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    const encoded = bytes(first);
    if (encoded) out[name] = encoded;
  }
  return out;
}
