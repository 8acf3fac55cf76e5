import { Consumer, type Message, Producer } from '@platformatic/kafka';
import type { Config } from '../pipeline/config/index.ts';
import { splitByBytes } from '../pipeline/kafka/index.ts';

/**
 * The raw `@platformatic/kafka` consume→produce pipe of `npm run bench -- runtime platformatic`: the exact
 * counterpart of the raw kafkajs pipe there, so the two clients are compared without the runtime in between.
 * Bytes in, bytes out (no deserialisation); records are gathered until the stream holds no more, its partitions
 * handled concurrently (config.runtime.consumer.partitionsConsumedConcurrently, as kafkajs's eachBatch), each
 * partition's records are produced one send per `handlerBatch` records (and under maxProduceBytes) by an
 * idempotent acks=-1 producer without compression, then that partition's offset is committed and awaited:
 * kafkajs's auto-commit after each batch. Not used in production.
 *
 * Two defaults of the client would skew the comparison and are overridden: `autocommit` (true by default)
 * commits a fetch's offsets as soon as it is pushed into the stream, before anything was produced, and
 * `mode` ('latest' by default) would skip the seeded records; a fresh group reads from the earliest offset.
 *
 * Runs the pipe while `measure` runs, and returns its figure; a failing pipe fails the measurement at once rather
 * than at its timeout. The pipe then stops: it finishes the batch in hand and closes the stream, the consumer and
 * the producer.
 */
export async function measurePlatformaticPipe(
  config: Config,
  { groupId, input, output }: { groupId: string; input: string; output: string },
  measure: () => Promise<number>,
): Promise<number> {
  const { consumer: tuning, handlerBatch, maxProduceBytes } = config.runtime;
  const clientId = `${config.kafka.clientId}-platformatic-pipe`;
  const producer = new Producer({
    clientId,
    bootstrapBrokers: config.kafka.brokers,
    idempotent: true,
    acks: -1,
    compression: 'none',
    autocreateTopics: false,
  });
  const consumer = new Consumer({
    clientId,
    bootstrapBrokers: config.kafka.brokers,
    groupId,
    autocommit: false,
    minBytes: 1,
    maxBytes: tuning.maxBytes,
    maxBytesPerPartition: tuning.maxBytesPerPartition,
    maxWaitTime: tuning.maxWaitMs,
  });
  const stream = await consumer.consume({ topics: [input], mode: 'committed', fallbackMode: 'earliest' });

  // Plain { topic, key, value, headers } objects: what kafkajs's splitByBytes sizes and what send() takes.
  const send = async (messages: Message[]) => {
    const records = messages.map(({ key, value, headers }) => ({
      topic: output,
      key,
      value,
      ...(headers.size > 0
        ? { headers: Object.fromEntries([...headers].map(([name, header]) => [name.toString(), header])) }
        : {}),
    }));
    for (const group of splitByBytes(records, maxProduceBytes)) await producer.send({ messages: group });
  };

  const partitionBatch = async (messages: Message[]) => {
    for (let start = 0; start < messages.length; start += handlerBatch) {
      await send(messages.slice(start, start + handlerBatch));
    }
    // Commits offset + 1 of the partition's last record, through the stream's single-flight committer.
    await messages.at(-1)!.commit();
  };

  // Records are taken as the stream yields them; when it holds no more (the fetch in hand is used up), or as
  // many are gathered as the concurrent partitions would send in one round, they are produced, concurrently.
  const stopping = new AbortController();
  const loop = (async () => {
    let byPartition = new Map<number, Message[]>();
    let gathered = 0;
    const flush = async () => {
      const queue = [...byPartition.values()];
      byPartition = new Map();
      gathered = 0;
      const worker = async () => {
        for (let batch = queue.shift(); batch; batch = queue.shift()) await partitionBatch(batch);
      };
      await Promise.all(Array.from({ length: Math.min(tuning.partitionsConsumedConcurrently, queue.length) }, worker));
    };
    for await (const message of stream as AsyncIterable<Message>) {
      const list = byPartition.get(message.partition);
      if (list) list.push(message);
      else byPartition.set(message.partition, [message]);
      gathered++;
      if (stream.readableLength === 0 || gathered >= handlerBatch * tuning.partitionsConsumedConcurrently) {
        await flush();
      }
      if (stopping.signal.aborted) break;
    }
  })();
  // A stream error (a commit needing a rejoin destroys the stream) must not go unheard between two waits.
  const failure = new Promise<never>((_, reject) => {
    stream.once('error', reject);
    loop.catch(reject);
  });
  try {
    return await Promise.race([measure(), failure]);
  } finally {
    // Closing the stream ends the loop's iteration once the batch in hand is produced.
    stopping.abort();
    await stream.close();
    try {
      await loop;
    } finally {
      await consumer.close();
      await producer.close();
    }
  }
}
