import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { defineStage, jsonCodec, type RunningStages, runStages } from '../../pipeline/runtime/index.ts';
import { createTopics, deleteTestTopics, produceIds, readTopic, testConfig, topicSize } from './support.ts';

let running: RunningStages[] = [];
let config: Config | undefined;

afterEach(async () => {
  await Promise.all(running.map((stage) => stage.stop('test over')));
  running = [];
  if (config) await deleteTestTopics(config);
  config = undefined;
});

function echoStage(name: string, consumerGroup: 'shared' | 'per-instance') {
  return defineStage<{ id: string }, unknown>({
    name,
    input: ['checkins'],
    output: ['acks'],
    consumerGroup,
    handler: async (batch) => batch.map((record) => ({ topic: 'acks', key: record.key, value: record.value })),
  });
}

const ids = Array.from({ length: 40 }, (_, index) => `id-${index}`);

describe('consumer groups and producing (real Kafka)', () => {
  it('shares the partitions of a shared group between processes: each record handled once', async () => {
    config = testConfig();
    await createTopics(config, { checkins: 4, acks: 2 });
    const stage = echoStage('rt-shared', 'shared');
    for (let instance = 0; instance < 2; instance++) {
      running.push(await runStages(config, [stage], { codec: jsonCodec, registry: new Registry() }));
    }
    await produceIds(config, 'checkins', ids);
    const outputs = await readTopic(config, 'acks', (records) => records.length >= ids.length);
    expect(new Set(outputs.map((record) => record.key))).toEqual(new Set(ids));
    const handled = await Promise.all(
      running.map(async (stage) => {
        const metric = await stage.registry.getSingleMetric('msgxc_stage_records_in_total')?.get();
        return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
      }),
    );
    // Both members took part, and together they handled every record once.
    expect(handled.every((count) => count > 0)).toBe(true);
    expect(handled.reduce((sum, count) => sum + count, 0)).toBe(ids.length);
    expect(await topicSize(config, 'acks')).toBe(ids.length);
  });

  it('gives every process of a per-instance stage every record (broadcast feeds)', async () => {
    config = testConfig();
    await createTopics(config, { checkins: 2, acks: 2 });
    const stage = echoStage('rt-broadcast', 'per-instance');
    for (let instance = 0; instance < 2; instance++) {
      running.push(await runStages(config, [stage], { codec: jsonCodec, registry: new Registry() }));
    }
    await produceIds(config, 'checkins', ids);
    const outputs = await readTopic(config, 'acks', (records) => records.length >= 2 * ids.length);
    for (const id of ids) expect(outputs.filter((record) => record.key === id)).toHaveLength(2);
  });

  it('splits outputs over the byte budget into several produce calls, in order, and refuses one too large', async () => {
    config = testConfig({ MSGXC_RUNTIME_MAX_PRODUCE_BYTES: '2048', MSGXC_RUNTIME_HANDLER_BATCH: '500' });
    await createTopics(config, { checkins: 1, acks: 1 });
    const stage = defineStage<{ id: string }, unknown>({
      name: 'rt-split',
      input: ['checkins'],
      output: ['acks'],
      handler: async (batch) =>
        batch.map((record) => ({
          topic: 'acks',
          key: record.key,
          value: { id: record.value.id, pad: 'x'.repeat(record.value.id === 'id-7' ? 4_000 : 100) },
        })),
    });
    running.push(await runStages(config, [stage], { codec: jsonCodec, registry: new Registry() }));
    await produceIds(config, 'checkins', ids);
    const outputs = await readTopic(config, 'acks', (records) => records.length >= ids.length - 1);
    expect(outputs.map((record) => record.key)).toEqual(ids.filter((id) => id !== 'id-7'));
    const dead = await readTopic(config, 'rt-split.dlq', (records) => records.length >= 1);
    expect(dead[0]).toMatchObject({ key: 'id-7', headers: { 'msgxc-error-code': 'OUTPUT_TOO_LARGE' } });
  });
});
