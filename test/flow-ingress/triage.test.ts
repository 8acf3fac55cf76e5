import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStages, runStages } from '../../pipeline/runtime/index.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import type {
  DeliveryEvent,
  FanoutJob,
  IngestRequest,
  PrioritizedRequest,
  StoredMessage,
} from '../../schemas/types.generated.ts';
import { laneStages, messageIdOf } from '../../stages/triage/index.ts';
import { ingestRequest } from '../support/prioritize.ts';
import {
  createHarness,
  createRawTopics,
  type Harness,
  produceValues,
  quiet,
  type Watch,
  watchTopic,
} from './support.ts';

let harness: Harness;
let running: RunningStages | undefined;
const watches: Watch[] = [];

beforeAll(async () => {
  harness = await createHarness();
  await createRawTopics(
    harness,
    laneStages.map((stage) => `${stage.name}.dlq`),
  );
  const threads = createThreadStore(harness.cassandra);
  await threads.createThread({
    tid: 't-team',
    owner: 'u-owner',
    publishers: ['u-pub'],
    channelTypes: ['ws', 'webpush', 'email'],
    urgency: 2,
  });
});

afterEach(async () => {
  await running?.stop('test over');
  running = undefined;
  for (const watch of watches.splice(0)) await watch.stop();
});

afterAll(async () => {
  await harness?.dispose();
});

const watch = async (logical: string) => {
  const opened = await watchTopic(harness, logical);
  watches.push(opened);
  return opened;
};

function laneRecord(request: IngestRequest, urgency: number): { key: string; value: PrioritizedRequest } {
  return {
    key: request.requestId,
    value: { request, urgency, expiresAt: null, prioritizedAt: Date.now(), scheduled: false },
  };
}

async function fanoutWatermark(): Promise<number> {
  const offsets = await harness.admin.fetchTopicOffsets(topicName(harness.config, 'fanout.bulk'));
  return offsets.reduce((sum, mark) => sum + Number(mark.high), 0);
}

describe('triage against Kafka, the registry and Cassandra', () => {
  it('re-checks rights, dead-letters refusals and unknown threads, stores the message and plans its delivery', async () => {
    running = await runStages(harness.config, [...laneStages], { log: quiet });
    // Urgency 2 (the thread's default) belongs to the bulk fanout lane.
    const fanout = await watch('fanout.bulk');
    const events = await watch('events');
    const dlq = await watch('triage.lane3.dlq');

    const createdAt = Date.now();
    const allowed = ingestRequest({
      requestId: 'by-publisher',
      tid: 't-team',
      createdAt,
      sender: { kind: 'user', id: 'u-pub' },
    });
    const refused = ingestRequest({
      requestId: 'by-stranger',
      tid: 't-team',
      createdAt,
      sender: { kind: 'user', id: 'u-x' },
    });
    const userSend = ingestRequest({
      requestId: 'user-send',
      kind: 'send',
      tid: null,
      uid: 'u-bob',
      createdAt,
      sender: { kind: 'user', id: 'u-owner' },
    });
    const nowhere = ingestRequest({
      requestId: 'no-thread',
      tid: 't-missing',
      createdAt,
      sender: { kind: 'service', id: 'orders' },
    });
    await produceValues(
      harness,
      'lane.3',
      [allowed, refused, userSend, nowhere].map((request) => laneRecord(request, 3)),
    );

    const dead = await dlq.until((records) => (records.length >= 3 ? records : undefined));
    const reasons = Object.fromEntries(
      await Promise.all(
        dead.map(async (record) => {
          const value = (await harness.serde.decode(record.value as Buffer)) as PrioritizedRequest;
          return [value.request.requestId, record.headers['msgxc-error-code']] as const;
        }),
      ),
    );
    expect(reasons).toEqual({ 'by-stranger': 'FORBIDDEN', 'user-send': 'FORBIDDEN', 'no-thread': 'UNKNOWN_THREAD' });
    expect(dead.every((record) => record.headers['msgxc-stage'] === 'triage.lane3')).toBe(true);

    await fanout.until((records) => (records.length >= 1 ? true : undefined));
    const [job] = await fanout.decoded<FanoutJob>();
    const messageId = messageIdOf('by-publisher', createdAt);
    expect(job).toMatchObject({
      messageId,
      requestId: 'by-publisher',
      audience: { kind: 'thread', tid: 't-team' },
      urgency: 2, // the thread's default: the request named none
      plan: 'nearline',
      channels: ['ws', 'webpush', 'email'],
    });
    const stored = await createMessageStore(harness.cassandra).getMessage(messageId);
    expect(stored).toMatchObject<Partial<StoredMessage>>({
      messageId,
      requestId: 'by-publisher',
      tid: 't-team',
      urgency: 2,
    });
    await events.until(async () =>
      (await events.decoded<DeliveryEvent>()).some((event) => event.type === 'queued' && event.messageId === messageId)
        ? true
        : undefined,
    );
    expect(fanout.seen).toHaveLength(1);
  });

  it('triages an urgency-4 record while a 20k urgency-1 backlog is still pending', async () => {
    const backlog = 20_000;
    const admin = { kind: 'admin' as const, id: 'root' };
    const createdAt = Date.now();
    await produceValues(
      harness,
      'lane.1',
      Array.from({ length: backlog }, (_, index) =>
        laneRecord(
          ingestRequest({
            requestId: `advert-${index}`,
            kind: 'send',
            tid: null,
            uid: `u-${index}`,
            createdAt,
            sender: admin,
          }),
          1,
        ),
      ),
    );
    const before = await fanoutWatermark();
    running = await runStages(harness.config, [...laneStages], { log: quiet });
    // The urgent job has a fanout lane of its own; lane 1's jobs go to the bulk lane (fanoutWatermark).
    const fanout = await watch('fanout.urgent');

    // The backlog is draining…
    await fanout.until(async () => ((await fanoutWatermark()) > before ? true : undefined));
    // …when the urgent record arrives.
    const call = ingestRequest({
      requestId: 'incoming-call',
      kind: 'send',
      tid: null,
      uid: 'u-callee',
      createdAt: Date.now(),
      sender: admin,
      urgency: 4,
    });
    await produceValues(harness, 'lane.4', [laneRecord(call, 4)]);
    const callId = messageIdOf(call.requestId, call.createdAt);
    await fanout.until((records) => (records.some((record) => record.key === callId) ? true : undefined));

    // Checked after the urgent job was seen, so these counts can only overstate lane 1's progress.
    const triagedSoFar = (await fanoutWatermark()) - before;
    const lag = await harness.admin.fetchOffsets({
      groupId: `${harness.config.kafka.topicPrefix}msgxc.triage.lane1`,
      topics: [topicName(harness.config, 'lane.1')],
    });
    const committed =
      lag[0]?.partitions.reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0) ?? 0;
    expect(triagedSoFar).toBeLessThan(backlog);
    expect(committed).toBeLessThan(backlog);
    // The backlog is not lost behind the urgent record: it drains completely.
    await fanout.until(async () => ((await fanoutWatermark()) - before >= backlog ? true : undefined), 300_000);

    const [urgent] = (await fanout.decoded<FanoutJob>()).filter((job) => job.messageId === callId);
    expect(urgent).toMatchObject({ urgency: 4, plan: 'fallback', audience: { kind: 'uids', uids: ['u-callee'] } });
  });
});
