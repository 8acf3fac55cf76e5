import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { defineStage, jsonCodec, type RunningStages, runStages } from '../../pipeline/runtime/index.ts';
import { kafkaTopicName } from '../../pipeline/runtime/names.ts';
import { createTopics, deleteTestTopics, produceIds, readTopic, testConfig, withAdmin } from './support.ts';

let running: RunningStages[] = [];
let config: Config | undefined;

afterEach(async () => {
  await Promise.all(running.map((stage) => stage.stop('test over')));
  running = [];
  if (config) await deleteTestTopics(config);
  config = undefined;
});

describe('stage start-up and its topics (real Kafka)', () => {
  it('starts several instances at once right after their topics were created, each creating or finding its retry and dead-letter topics', async () => {
    config = testConfig();
    const target = config;
    await createTopics(target, { checkins: 3, acks: 3 });
    const stage = defineStage<{ id: string }, unknown>({
      name: 'rt-startup',
      input: ['checkins'],
      output: ['acks'],
      handler: async (batch) => batch.map((record) => ({ topic: 'acks', key: record.key, value: record.value })),
    });
    // Three processes racing to create the same topics, which KRaft may not have published yet.
    running = await Promise.all(
      [1, 2, 3].map(() => runStages(target, [stage], { codec: jsonCodec, registry: new Registry() })),
    );
    const topics = await withAdmin(target, (admin) => admin.listTopics());
    for (const logical of ['rt-startup.retry', 'rt-startup.dlq'])
      expect(topics).toContain(kafkaTopicName(target, logical));

    const ids = Array.from({ length: 30 }, (_, index) => `id-${index}`);
    await produceIds(target, 'checkins', ids);
    const outputs = await readTopic(target, 'acks', (records) => records.length >= ids.length);
    expect(outputs.map((record) => record.key).sort()).toEqual([...ids].sort());
  });
});
