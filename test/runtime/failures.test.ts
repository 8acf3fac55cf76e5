import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { permanent, retriable } from '../../pipeline/errors/index.ts';
import {
  defineStage,
  jsonCodec,
  type OutputRecord,
  type RunningStages,
  runStages,
} from '../../pipeline/runtime/index.ts';
import { kafkaTopicName } from '../../pipeline/runtime/names.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import type { Acknowledgement, CheckIn } from '../../schemas/index.ts';
import { ackFor, checkIn } from './fixtures/checkin-stage.ts';
import {
  createTopics,
  deleteTestTopics,
  metric,
  produce,
  produceIds,
  readTopic,
  testConfig,
  topicSize,
} from './support.ts';

let running: RunningStages | undefined;
let config: Config | undefined;

afterEach(async () => {
  await running?.stop('test over');
  running = undefined;
  if (config) await deleteTestTopics(config);
  config = undefined;
});

describe('stage runtime failure handling (real Kafka and schema registry)', () => {
  it('sends undecodable bytes and a permanently failing record to the dead-letter topic while later records flow', async () => {
    config = testConfig();
    await createTopics(config, { checkins: 1, acks: 1 });
    const serde = createSerde(config);
    const encode = (value: CheckIn) => serde.encode('checkins', value);
    const good = (from: number) => Array.from({ length: 5 }, (_, index) => `good-${from + index}`);
    const garbage = Buffer.from('definitely not avro');
    await produce(config, 'checkins', [
      ...(await Promise.all(
        good(0).map(async (id) => ({ key: Buffer.from(id), value: await encode(checkIn(id)), headers: {} })),
      )),
      { key: Buffer.from('garbage'), value: garbage, headers: { traceparent: '00-abc-01' } },
      { key: Buffer.from('poison'), value: await encode(checkIn('poison', 'poison-user')), headers: {} },
      ...(await Promise.all(
        good(5).map(async (id) => ({ key: Buffer.from(id), value: await encode(checkIn(id)), headers: {} })),
      )),
    ]);

    const registry = new Registry();
    const stage = defineStage<CheckIn, unknown>({
      name: 'rt-poison',
      input: ['checkins'],
      output: ['acks'],
      errors: { attempts: 2, baseMs: 10 },
      handler: async (batch) =>
        batch.map((record): OutputRecord => {
          if (record.value.uid === 'poison-user') throw permanent('POISON_RECORD', `cannot handle ${record.key}`);
          return { topic: 'acks', key: record.key, value: ackFor(record.value) };
        }),
    });
    running = await runStages(config, [stage], { registry });

    const outputs = await readTopic(config, 'acks', (records) => records.length >= 10);
    const acks = await Promise.all(
      outputs.map(async (record) => (await serde.decode(record.value!)) as Acknowledgement),
    );
    expect(acks.map((ack) => ack.ackId).sort()).toEqual([...good(0), ...good(5)].sort());

    const dead = await readTopic(config, 'rt-poison.dlq', (records) => records.length >= 2);
    expect(dead).toHaveLength(2);
    const [undecodable, poison] = [...dead].sort(
      (a, b) => Number(a.headers['msgxc-source-offset']) - Number(b.headers['msgxc-source-offset']),
    );
    expect(undecodable?.key).toBe('garbage');
    expect(undecodable?.value).toEqual(garbage);
    expect(undecodable?.headers).toMatchObject({
      traceparent: '00-abc-01',
      'msgxc-stage': 'rt-poison',
      'msgxc-error-code': 'UNDECODABLE',
      'msgxc-attempt': '1',
      'msgxc-source-topic': kafkaTopicName(config, 'checkins'),
      'msgxc-source-partition': '0',
      'msgxc-source-offset': '5',
    });
    expect(poison?.key).toBe('poison');
    expect(poison?.headers).toMatchObject({
      'msgxc-error-code': 'POISON_RECORD',
      'msgxc-error-message': 'cannot handle poison',
      'msgxc-source-offset': '6',
      'msgxc-attempt': '1',
    });
    expect(Date.parse(poison?.headers['msgxc-failed-at'] ?? '')).toBeGreaterThan(0);
    // The dead letter carries the original bytes: decoding them gives back the original check-in.
    expect(((await serde.decode(poison!.value!)) as CheckIn).uid).toBe('poison-user');

    // A permanent failure is never retried, in-process or through the retry topic.
    expect(await metric(registry, 'msgxc_stage_retries_total', { stage: 'rt-poison' })).toBe(0);
    expect(await topicSize(config, 'rt-poison.retry')).toBe(0);
    expect(await metric(registry, 'msgxc_stage_dead_letters_total', { stage: 'rt-poison', code: 'UNDECODABLE' })).toBe(
      1,
    );
    expect(
      await metric(registry, 'msgxc_stage_dead_letters_total', { stage: 'rt-poison', code: 'POISON_RECORD' }),
    ).toBe(1);
    expect(await metric(registry, 'msgxc_stage_records_out_total', { stage: 'rt-poison', topic: 'acks' })).toBe(10);
  });

  it('backs off after retriable failures and then succeeds', async () => {
    config = testConfig();
    await createTopics(config, { checkins: 1, acks: 1 });
    const ids = ['a', 'b', 'c'];
    await produceIds(config, 'checkins', ids);

    const registry = new Registry();
    const calls: number[] = [];
    const stage = defineStage<{ id: string }, unknown>({
      name: 'rt-flaky',
      input: ['checkins'],
      output: ['acks'],
      errors: { attempts: 4, baseMs: 200, maxMs: 2_000 },
      handler: async (batch) => {
        calls.push(Date.now());
        if (calls.length <= 2) throw retriable('DOWNSTREAM_BUSY', 'try again later');
        return batch.map((record) => ({ topic: 'acks', key: record.key, value: record.value }));
      },
    });
    running = await runStages(config, [stage], { registry, codec: jsonCodec });

    const outputs = await readTopic(config, 'acks', (records) => records.length >= 3);
    expect(outputs.map((record) => JSON.parse(record.value!.toString()).id).sort()).toEqual(ids);
    expect(calls).toHaveLength(3);
    // Equal jitter: the n-th back-off waits at least half of base·2^(n-1).
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(100 - 5);
    expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(200 - 5);
    expect(await metric(registry, 'msgxc_stage_retries_total', { stage: 'rt-flaky', kind: 'backoff' })).toBe(2);
    expect(await metric(registry, 'msgxc_stage_errors_total', { stage: 'rt-flaky', code: 'DOWNSTREAM_BUSY' })).toBe(2);
    expect(await metric(registry, 'msgxc_stage_records_out_total', { stage: 'rt-flaky', topic: 'acks' })).toBe(3);
    expect(await topicSize(config, 'rt-flaky.retry')).toBe(0);
    expect(await topicSize(config, 'rt-flaky.dlq')).toBe(0);
  });

  it('moves a record failing past the budget through the delayed retry topic, and to the DLQ after N trips', async () => {
    // One record per handler call, so every call is one trip of one record (no bisection in between).
    config = testConfig({ MSGXC_RUNTIME_HANDLER_BATCH: '1' });
    await createTopics(config, { checkins: 2, acks: 1 });
    const ids = ['ok-1', 'recovers', 'ok-2', 'never'];
    await produceIds(config, 'checkins', ids);

    const registry = new Registry();
    const seen = new Map<string, number>();
    const stage = defineStage<{ id: string }, unknown>({
      name: 'rt-delayed',
      input: ['checkins'],
      output: ['acks'],
      errors: { attempts: 1, delayedAttempts: 2, delayedBaseMs: 400, delayedMaxMs: 1_000 },
      handler: async (batch) => {
        for (const record of batch) seen.set(record.value.id, (seen.get(record.value.id) ?? 0) + 1);
        for (const record of batch) {
          if (record.topic !== 'checkins') throw new Error(`handler saw topic ${record.topic}`);
          const tries = seen.get(record.value.id) ?? 0;
          if (record.value.id === 'never' || (record.value.id === 'recovers' && tries <= 2)) {
            throw retriable('FLAKY_DEPENDENCY', `${record.value.id} failed (try ${tries})`);
          }
        }
        return batch.map((record) => ({ topic: 'acks', key: record.key, value: record.value }));
      },
    });
    running = await runStages(config, [stage], { registry, codec: jsonCodec });

    const outputs = await readTopic(config, 'acks', (records) => records.length >= 3);
    expect(new Set(outputs.map((record) => record.key))).toEqual(new Set(['ok-1', 'ok-2', 'recovers']));
    const dead = await readTopic(config, 'rt-delayed.dlq', (records) => records.length >= 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.key).toBe('never');
    expect(dead[0]?.headers).toMatchObject({
      'msgxc-error-code': 'FLAKY_DEPENDENCY',
      'msgxc-attempt': '3',
      'msgxc-source-topic': kafkaTopicName(config, 'checkins'),
    });
    expect(dead[0]?.headers).not.toHaveProperty('msgxc-retry-at');

    const retried = await readTopic(config, 'rt-delayed.retry', (records) => records.length >= 4);
    const trips = (key: string) => retried.filter((record) => record.key === key).map((record) => record.headers);
    expect(trips('recovers').map((headers) => headers['msgxc-attempt'])).toEqual(['1', '2']);
    expect(trips('never').map((headers) => headers['msgxc-attempt'])).toEqual(['1', '2']);
    for (const headers of trips('recovers')) {
      // The delay is carried in the record: it is not handed back before msgxc-retry-at.
      expect(Number(headers['msgxc-retry-at'])).toBeGreaterThanOrEqual(Date.parse(headers['msgxc-failed-at']!) + 200);
      expect(headers['msgxc-source-topic']).toBe(kafkaTopicName(config, 'checkins'));
    }
    expect(await metric(registry, 'msgxc_stage_retries_total', { stage: 'rt-delayed', kind: 'delayed' })).toBe(4);
    expect(await metric(registry, 'msgxc_stage_dead_letters_total', { stage: 'rt-delayed' })).toBe(1);
  });
});
