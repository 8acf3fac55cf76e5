import type { DeliveryBatch } from '../../schemas/types.generated.ts';
import type { Config } from '../config/index.ts';
import { createRecordProducer, type RecordProducer } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { buildFailureHeaders } from '../runtime/headers.ts';
import { retryTopic } from '../runtime/names.ts';
import type { Codec, InputRecord } from '../runtime/types.ts';
import { topicName } from '../topics/topology.ts';

/**
 * Puts the recipients still owed a delivery back through the stage's own `<stage>.retry` topic, the runtime's
 * delayed-retry mechanism: the same runtime headers it writes itself (source topic/partition/offset, retry-at),
 * so the runtime hands the record back to this stage's handler as a `deliver.<channel>` record once due, with
 * the partition paused meanwhile. Only the recipients named go back (never the ones already sent), and the
 * delivery attempt travels in `deliveryAttemptHeader`. Sent before the input's offset is committed: a crash in
 * between repeats the input (at-least-once), never loses the retry.
 */
export const deliveryAttemptHeader = 'msgxc-delivery-attempt';

export interface ParkedBatch {
  source: InputRecord<DeliveryBatch>;
  batch: DeliveryBatch;
  attempt: number;
  retryAt: number;
  /** Why it waits, for the dead-letter-style headers (PROVIDER_FAILED, BREAKER_OPEN, RETRY_AFTER). */
  code: string;
  message: string;
}

export interface RetryQueue {
  park(records: ParkedBatch[]): Promise<void>;
  close(): Promise<void>;
}

export function createRetryQueue(
  config: Config,
  stage: string,
  codec: Codec,
  log: Logger,
  producer: RecordProducer = createRecordProducer(config, { codec, log }),
): RetryQueue {
  const topic = retryTopic(stage);
  return {
    async park(records) {
      if (records.length === 0) return;
      const messages = await Promise.all(
        records.map(async (record) => {
          const failure = buildFailureHeaders({
            stage,
            code: record.code,
            message: record.message,
            // The runtime's own budget for this record starts afresh: delivery attempts are counted apart.
            attempt: 1,
            source: {
              topic: topicName(config, record.source.topic),
              partition: record.source.partition,
              offset: record.source.offset,
            },
            failedAt: new Date(),
            retryAt: record.retryAt,
          });
          return {
            topic,
            key: record.batch.batchId,
            value: await codec.encode(record.source.topic, record.batch),
            headers: { ...record.source.headers, [deliveryAttemptHeader]: String(record.attempt), ...failure },
          };
        }),
      );
      await producer.sendEncoded(messages);
    },
    close: () => producer.close(),
  };
}
