import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { defineStage, jsonCodec, runStages } from '../../pipeline/runtime/index.ts';
import {
  committedOffset,
  createTopics,
  eventually,
  produceIds,
  stagesUnderTest,
  testConfig,
  topicSize,
  withAdmin,
} from './support.ts';

const under = stagesUnderTest();

const committed = (target: Config, stage: string) => committedOffset(target, stage, 'checkins');

/** Offset commits (and group records) the broker has stored: every commit appends to `__consumer_offsets`. */
async function offsetRecords(target: Config): Promise<number> {
  return withAdmin(target, async (admin) =>
    (await admin.fetchTopicOffsets('__consumer_offsets')).reduce((sum, mark) => sum + Number(mark.high), 0),
  );
}

const passThrough = defineStage<{ id: string }, unknown>({
  name: 'rt-commits',
  input: ['checkins'],
  output: ['acks'],
  handler: async (batch) => batch.map((record) => ({ topic: 'acks', key: record.value.id, value: record.value })),
});

describe('offset commits (real Kafka)', () => {
  it('commits a trickle of one-record batches once per interval, the last offsets by a trailing commit', async () => {
    under.config = testConfig({ MSGXC_RUNTIME_COMMIT_INTERVAL_MS: '3000' });
    const target = under.config;
    await createTopics(target, { checkins: 1, acks: 1 });
    under.running = await runStages(target, [passThrough], { codec: jsonCodec, registry: new Registry() });
    await produceIds(target, 'checkins', ['warm-up']);
    await eventually(async () => ((await committed(target, 'rt-commits')) === 1 ? true : undefined), 30_000, 'warm');

    const before = await offsetRecords(target);
    // 30 records, each in a fetch of its own: a commit per fetched batch would append 30 offset records.
    for (let n = 0; n < 30; n++) {
      await produceIds(target, 'checkins', [`r${n}`]);
      await sleep(40);
    }
    await eventually(async () => ((await topicSize(target, 'acks')) === 31 ? true : undefined), 30_000, 'outputs');
    await eventually(async () => ((await committed(target, 'rt-commits')) === 31 ? true : undefined), 30_000, 'commit');
    const commits = (await offsetRecords(target)) - before;
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(6);
  }, 120_000);

  it('commits what waits for the interval before it leaves the group on stop', async () => {
    under.config = testConfig({ MSGXC_RUNTIME_COMMIT_INTERVAL_MS: '60000' });
    const target = under.config;
    await createTopics(target, { checkins: 1, acks: 1 });
    under.running = await runStages(target, [passThrough], { codec: jsonCodec, registry: new Registry() });
    await produceIds(target, 'checkins', ['first']);
    await eventually(async () => ((await committed(target, 'rt-commits')) === 1 ? true : undefined), 30_000, 'first');
    for (let n = 0; n < 5; n++) await produceIds(target, 'checkins', [`r${n}`]);
    await eventually(async () => ((await topicSize(target, 'acks')) === 6 ? true : undefined), 30_000, 'outputs');
    // Handled and produced, but the minute has not passed: the offset waits.
    expect(await committed(target, 'rt-commits')).toBe(1);
    await under.running.stop('test stop');
    expect(await under.running.done).toBe(0);
    under.running = undefined;
    expect(await committed(target, 'rt-commits')).toBe(6);
  }, 120_000);
});
