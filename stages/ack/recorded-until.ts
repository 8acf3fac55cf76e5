import type { Admin } from 'kafkajs';
import type { Config } from '../../pipeline/config/index.ts';
import { groupIdFor, kafkaTopicName } from '../../pipeline/runtime/index.ts';

/**
 * Whether a consumer group has recorded every record produced before a time, on every partition of its topics:
 * its committed offset has reached the first offset whose timestamp is at or after that time (Kafka's
 * ListOffsets by timestamp; past the last record, the end of the partition). Committed offsets trail what
 * was handled by up to the commit interval, so the answer errs on "not yet": a decision waits a moment, it
 * is never made on a state the group has not recorded.
 *
 * A record the stage parked in its retry topic counts as recorded here (its source offset was committed); a
 * dead-lettered one too (it will never be recorded).
 */
export function recordedUntilProbe(admin: Admin, groupId: string, topics: readonly string[]) {
  return async (time: number): Promise<boolean> => {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    for (const topic of topics) {
      const byPartition = new Map(
        (committed.find((entry) => entry.topic === topic)?.partitions ?? []).map((entry) => [
          entry.partition,
          BigInt(entry.offset),
        ]),
      );
      const firstAtOrAfter = await admin.fetchTopicOffsetsByTimestamp(topic, time);
      // A partition without a commit: the group has read nothing of it, so only an empty prefix is recorded.
      // Its log start is asked for only then (a running ack stage has committed on every partition).
      const uncommitted = firstAtOrAfter.some(({ partition }) => (byPartition.get(partition) ?? -1n) < 0n);
      const bounds = uncommitted ? await admin.fetchTopicOffsets(topic) : [];
      for (const { partition, offset } of firstAtOrAfter) {
        const reached = byPartition.get(partition) ?? -1n;
        const low = BigInt(bounds.find((entry) => entry.partition === partition)?.low ?? '0');
        if ((reached < 0n ? low : reached) < BigInt(offset)) return false;
      }
    }
    return true;
  };
}

/** The ack stage's probe: its shared group on the two inputs acknowledgements arrive by (check-ins are sessions). */
export function ackRecordedUntil(config: Config, admin: Admin) {
  return recordedUntilProbe(
    admin,
    groupIdFor(config, 'ack', 'shared', ''),
    ['acks', 'events'].map((logical) => kafkaTopicName(config, logical)),
  );
}
