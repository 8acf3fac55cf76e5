import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import {
  defineStage,
  jsonCodec,
  type OutputRecord,
  type RunningStages,
  runStages,
} from '../../pipeline/runtime/index.ts';
import {
  committedOffset,
  createTopics,
  deleteTestTopics,
  eventually,
  metric,
  produceIds,
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

const committed = (target: Config, stage: string) => committedOffset(target, stage, 'checkins');

describe('streaming handler outputs (real Kafka)', () => {
  it('produces a 50k-record stream for one input in chunks as it goes, and commits the input only after', async () => {
    config = testConfig({ MSGXC_RUNTIME_STREAM_CHUNK: '1000' });
    const target = config;
    await createTopics(target, { checkins: 1, acks: 3 });
    const total = 50_000;
    const registry = new Registry();
    let midway: { produced: number; committed: number } | undefined;
    const stage = defineStage<{ id: string }, unknown>({
      name: 'rt-stream',
      input: ['checkins'],
      output: ['acks'],
      async *handler(batch): AsyncGenerator<OutputRecord> {
        for (const record of batch) {
          for (let n = 0; n < total; n++) {
            // Half-way through: what left already is in Kafka, and the input is not committed yet.
            if (n === total / 2)
              midway = { produced: await topicSize(target, 'acks'), committed: await committed(target, 'rt-stream') };
            yield { topic: 'acks', key: `${record.value.id}:${n % 97}`, value: { id: record.value.id, n } };
          }
        }
      },
    });
    running = await runStages(target, [stage], { codec: jsonCodec, registry });
    await produceIds(target, 'checkins', ['one']);

    await eventually(
      async () => ((await committed(target, 'rt-stream')) === 1 ? true : undefined),
      120_000,
      'the commit',
    );
    // Every 1,000 records were produced (and acknowledged) before the handler was asked for more.
    expect(midway).toEqual({ produced: total / 2, committed: -1 });
    expect(await topicSize(target, 'acks')).toBe(total);
    expect(await metric(registry, 'msgxc_stage_records_out_total', { stage: 'rt-stream' })).toBe(total);
    // Memory holds a chunk, not the stream: one produce call per 1,000 records, not one for all.
    expect(await metric(registry, 'msgxc_stage_produce_requests_total', { stage: 'rt-stream' })).toBe(total / 1_000);
  }, 180_000);

  it('abandons a stream on stop, leaving the input uncommitted; the next run redoes it from the start', async () => {
    config = testConfig({ MSGXC_RUNTIME_STREAM_CHUNK: '500' });
    const target = config;
    await createTopics(target, { checkins: 1, acks: 1 });
    const total = 5_000;
    const streamStage = (stopAt?: number) =>
      defineStage<{ id: string }, unknown>({
        name: 'rt-stream-stop',
        input: ['checkins'],
        output: ['acks'],
        async *handler(batch): AsyncGenerator<OutputRecord> {
          for (const record of batch) {
            for (let n = 0; n < total; n++) {
              // A SIGTERM arriving mid-stream (not awaited: stopping waits for this very batch).
              if (n === stopAt) void running?.stop('test stop');
              yield { topic: 'acks', key: String(n), value: { id: record.value.id, n } };
            }
          }
        },
      });
    running = await runStages(target, [streamStage(2_000)], { codec: jsonCodec, registry: new Registry() });
    await produceIds(target, 'checkins', ['one']);
    expect(await running.done).toBe(0);
    running = undefined;
    const partial = await topicSize(target, 'acks');
    // What left before the stop stays; the rest was never produced, and the input was not committed.
    expect(partial).toBeGreaterThanOrEqual(2_000);
    expect(partial).toBeLessThan(total);
    expect(await committed(target, 'rt-stream-stop')).toBe(-1);

    running = await runStages(target, [streamStage()], { codec: jsonCodec, registry: new Registry() });
    await eventually(
      async () => ((await committed(target, 'rt-stream-stop')) === 1 ? true : undefined),
      120_000,
      'the commit',
    );
    expect(await topicSize(target, 'acks')).toBe(partial + total);
  }, 180_000);
});
