import { Consumer } from '@platformatic/kafka';
import type { Config } from '../config/index.ts';

/** One record of a partition, as stored. */
export interface StoredRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * Reads one partition of a topic by offset, outside any consumer group: what a stage needs to restore state
 * kept in a changelog topic (a group would assign the partitions itself, and commit).
 */
export interface PartitionReader {
  /**
   * Hands `onRecords` every record of `topic`/`partition` from `from` (or the log start, if that is later,
   * because retention or compaction removed the earlier ones) up to the end the partition had when the call
   * began, batch by batch. Resolves with the offset after the last record handed over: where the next call
   * starts to read only what was written since.
   */
  readToEnd(
    topic: string,
    partition: number,
    from: bigint,
    onRecords: (records: StoredRecord[]) => void | Promise<void>,
  ): Promise<bigint>;
  close(): Promise<void>;
}

// The log start offset and the end offset, as ListOffsets names them.
const EARLIEST = -2n;
const LATEST = -1n;

/**
 * `@platformatic/kafka`'s low-level fetch: kafkajs can only consume through a group. The consumer is never
 * joined to its group id (the client requires one); it only asks for metadata, offsets and records.
 */
export function createPartitionReader(config: Config, options: { maxBytes?: number } = {}): PartitionReader {
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const consumer = new Consumer({
    clientId: `${config.kafka.clientId}-partition-reader`,
    bootstrapBrokers: config.kafka.brokers,
    groupId: `${config.kafka.clientId}-partition-reader-unjoined`,
    autocommit: false,
  });

  const offsetAt = async (topic: string, partition: number, timestamp: bigint): Promise<bigint> => {
    const offsets = await consumer.listOffsets({ topics: [topic], partitions: { [topic]: [partition] }, timestamp });
    const offset = offsets.get(topic)?.[partition];
    if (offset === undefined) throw new Error(`no offset for ${topic}/${partition}`);
    return offset;
  };

  return {
    async readToEnd(topic, partition, from, onRecords) {
      const end = await offsetAt(topic, partition, LATEST);
      if (from >= end) return from;
      const start = await offsetAt(topic, partition, EARLIEST);
      // Bigints: Math.max does not take them.
      let next = start;
      if (from > next) next = from;
      while (next < end) {
        const metadata = await consumer.metadata({ topics: [topic] });
        const described = metadata.topics.get(topic);
        const leader = described?.partitions[partition]?.leader;
        if (described === undefined || leader === undefined) throw new Error(`no leader for ${topic}/${partition}`);
        const response = await consumer.fetch({
          node: leader,
          maxWaitTime: 0,
          minBytes: 1,
          maxBytes,
          topics: [
            {
              topicId: described.id,
              partitions: [
                {
                  partition,
                  fetchOffset: next,
                  partitionMaxBytes: maxBytes,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                },
              ],
            },
          ],
        });
        const fetched = response.responses[0]?.partitions.find((item) => item.partitionIndex === partition);
        if (fetched === undefined || fetched.errorCode !== 0) {
          throw new Error(`fetching ${topic}/${partition} at ${next} failed (error code ${fetched?.errorCode})`);
        }
        const records: StoredRecord[] = [];
        let after = next;
        for (const batch of fetched.records ?? []) {
          after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
          for (const record of batch.records) {
            const offset = batch.firstOffset + BigInt(record.offsetDelta);
            // A batch is returned whole: skip what comes before the offset asked for, and control records.
            if (offset < next || offset >= end || (batch.attributes & 0x20) !== 0) continue;
            records.push({ offset, key: record.key, value: record.value });
          }
        }
        // Nothing more readable below the end (compaction can leave the end past the last record).
        if (after <= next) break;
        if (records.length > 0) await onRecords(records);
        next = after;
      }
      return end;
    },
    async close() {
      await consumer.close();
    },
  };
}
