import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { kafkaTopicName } from '../../pipeline/runtime/index.ts';
import { recordedUntilProbe } from '../../stages/ack/recorded-until.ts';
import { createTopics, deleteTestTopics, produceIds, testConfig, withAdmin } from './support.ts';

let config: Config | undefined;

afterEach(async () => {
  if (config) await deleteTestTopics(config);
  config = undefined;
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('recordedUntilProbe (real Kafka): has a group recorded everything produced before a time?', () => {
  it('answers from committed offsets against the offsets of that time, on every partition of every topic', async () => {
    config = testConfig();
    const own = config;
    await createTopics(own, { acks: 2, events: 1 });
    const groupId = `${own.kafka.topicPrefix}probe-group`;
    const topics = [kafkaTopicName(own, 'acks'), kafkaTopicName(own, 'events')];
    // kafkajs's setOffsets joins the group to commit: about 5 s a call, so few calls.
    const commit = (topic: string, offsets: Record<number, number>) =>
      withAdmin(own, (admin) =>
        admin.setOffsets({
          groupId,
          topic,
          partitions: Object.entries(offsets).map(([partition, offset]) => ({
            partition: Number(partition),
            offset: String(offset),
          })),
        }),
      );
    await withAdmin(own, async (admin) => {
      const recordedUntil = recordedUntilProbe(admin, groupId, topics);
      const beforeAnything = Date.now();
      await pause(20);
      // Nothing produced yet: nothing to record, with or without commits.
      expect(await recordedUntil(Date.now())).toBe(true);

      await produceIds(own, 'acks', ['a', 'b', 'c', 'd', 'e', 'f']);
      await produceIds(own, 'events', ['x', 'y']);
      await pause(20);
      const afterProduce = Date.now();
      // Produced, never consumed: before them is recorded, after them is not.
      expect(await recordedUntil(beforeAnything)).toBe(true);
      expect(await recordedUntil(afterProduce)).toBe(false);

      const ends = await admin.fetchTopicOffsets(topics[0]!);
      await commit(topics[0]!, Object.fromEntries(ends.map(({ partition, high }) => [partition, Number(high)])));
      // acks caught up, events not yet.
      expect(await recordedUntil(afterProduce)).toBe(false);
      await commit(topics[1]!, { 0: 1 });
      expect(await recordedUntil(afterProduce)).toBe(false);
      await commit(topics[1]!, { 0: 2 });
      expect(await recordedUntil(afterProduce)).toBe(true);

      // A later record not yet handled does not hold back a time before it.
      await pause(20);
      const beforeLate = Date.now();
      await pause(20);
      await produceIds(own, 'events', ['z']);
      expect(await recordedUntil(beforeLate)).toBe(true);
      expect(await recordedUntil(Date.now() + 1_000)).toBe(false);
    });
  });
});
