import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVariantAssigner } from '../../pipeline/records/variants.ts';
import type { DeliveryBatch, DeliveryEvent, Experiment, FanoutJob } from '../../schemas/types.generated.ts';
import { stage as fanoutStage } from '../../stages/fanout/index.ts';
import { audience, createWorld, device, fanoutJob, flowTopics, readTopic, type World } from './support.ts';

/**
 * The fanout stage on the real stack: jobs produced to the fanout topic, the audience in OpenSearch,
 * batches read back from the deliver topics. Audiences above 4 users are sliced (MSGXC_FANOUT_SLICE_USERS),
 * so every "exactly these users" below also shows slices together reach each user once.
 */

let world: World;
const deliverTopics = flowTopics.filter((topic) => topic.startsWith('deliver.'));

const experiment: Experiment = {
  id: 'exp-subject',
  variants: [
    { name: 'control', weight: 50, uids: null, subject: null, msg: null, channels: null },
    { name: 'b', weight: 50, uids: ['ann'], subject: 'Hey!', msg: null, channels: null },
  ],
};

const jobs = {
  thread: fanoutJob({ tid: 't-news', audience: audience.thread('t-news') }),
  restricted: fanoutJob({ tid: 't-news', audience: audience.thread('t-news'), channels: ['fcm'] }),
  uids: fanoutJob({ audience: audience.uids(['ann', 'dan', 'cat', 'ghost']), channels: ['fcm', 'apns'] }),
  everyone: fanoutJob({ audience: audience.everyone(), channels: ['fcm', 'apns', 'email'] }),
  cohort: fanoutJob({ audience: audience.cohort('beta'), channels: ['fcm'] }),
  split: fanoutJob({ audience: audience.split('exp-s', 'b'), channels: ['ws'] }),
  experimentA: fanoutJob({ audience: audience.everyone(), channels: ['ws'], experiment }),
  experimentB: fanoutJob({ audience: audience.everyone(), channels: ['ws'], experiment }),
};

let batches: DeliveryBatch[];
let events: DeliveryEvent[];
let fanoutRecords: FanoutJob[];

/** "channel:uid:device" per delivery of a message, sorted; each delivery once. */
const deliveriesOf = (job: FanoutJob) =>
  batches
    .filter((batch) => batch.messageId === job.messageId)
    .flatMap((batch) =>
      batch.recipients.map((recipient) => `${batch.channel}:${recipient.uid}:${recipient.device?.id ?? '-'}`),
    )
    .sort();

const variantsOf = (job: FanoutJob) =>
  new Map(
    batches
      .filter((batch) => batch.messageId === job.messageId)
      .flatMap((batch) => batch.recipients.map((recipient) => [recipient.uid, recipient.variant] as const)),
  );

beforeAll(async () => {
  // Cassandra too: fanout writes each page's recipients to their inbox.
  world = await createWorld({ MSGXC_FANOUT_SLICE_USERS: '4', MSGXC_FANOUT_PAGE_SIZE: '2' });
  await world.users([
    {
      uid: 'ann',
      tids: ['t-news'],
      cohorts: ['beta'],
      splits: [{ experiment: 'exp-s', variant: 'a' }],
      devices: { fcm: [device.fcm('a1'), device.fcm('a2')] },
    },
    {
      uid: 'bob',
      tids: ['t-news'],
      splits: [{ experiment: 'exp-s', variant: 'b' }],
      devices: { apns: [device.apns('b1')], email: [device.email('b2')] },
    },
    { uid: 'cat', tids: ['t-news'], channels: ['~'], devices: { fcm: [device.fcm('c1')] } },
    {
      uid: 'dan',
      cohorts: ['beta'],
      splits: [{ experiment: 'exp-s', variant: 'b' }],
      devices: { fcm: [device.fcm('d1')] },
    },
    {
      uid: 'eve',
      tids: ['t-news'],
      threadPreferences: [{ tid: 't-news', channels: ['~'] }],
      devices: { fcm: [device.fcm('e1')] },
    },
    {
      uid: 'fay',
      tids: ['t-news'],
      channels: ['apns'],
      devices: { fcm: [device.fcm('f1')], apns: [device.apns('f2')] },
    },
    { uid: 'gus', tids: ['t-other'], devices: { email: [device.email('g1')] } },
  ]);
  await world.run([fanoutStage]);
  await world.emitter.emit(Object.values(jobs).map((job) => ({ topic: 'fanout', key: job.messageId, value: job })));
  await world.drained('fanout', ['fanout']);
  batches = (await Promise.all(deliverTopics.map((topic) => readTopic<DeliveryBatch>(world.config, topic))))
    .flat()
    .map((record) => record.value);
  events = (await readTopic<DeliveryEvent>(world.config, 'events')).map((record) => record.value);
  fanoutRecords = (await readTopic<FanoutJob>(world.config, 'fanout')).map((record) => record.value);
});

afterAll(async () => {
  await world?.drop();
});

describe('fanout on the real stack', () => {
  it("reaches exactly a thread's subscribers' devices; opted-out and muted users get nothing", () => {
    expect(deliveriesOf(jobs.thread)).toEqual(
      ['fcm:ann:a1', 'fcm:ann:a2', 'ws:ann:-', 'apns:bob:b1', 'email:bob:b2', 'ws:bob:-', 'apns:fay:f2'].sort(),
    );
  });

  it('honours the channel restriction', () => {
    expect(deliveriesOf(jobs.restricted)).toEqual(['fcm:ann:a1', 'fcm:ann:a2']);
  });

  it('reaches a uid list, a cohort and an experiment split exactly', () => {
    expect(deliveriesOf(jobs.uids)).toEqual(['fcm:ann:a1', 'fcm:ann:a2', 'fcm:dan:d1']);
    expect(deliveriesOf(jobs.cohort)).toEqual(['fcm:ann:a1', 'fcm:ann:a2', 'fcm:dan:d1']);
    expect(deliveriesOf(jobs.split)).toEqual(['ws:bob:-', 'ws:dan:-']);
    expect([...variantsOf(jobs.split).values()]).toEqual(['b', 'b']);
    const dropped = events.filter((event) => event.messageId === jobs.uids.messageId && event.type === 'dropped');
    expect(
      Object.fromEntries(dropped.map((event) => [event.reason, JSON.parse(event.detail ?? '{}').recipients])),
    ).toEqual({
      OPTED_OUT: 1,
      UNKNOWN_USER: 1,
    });
  });

  it('reaches everyone once, through slices of the audience', () => {
    expect(deliveriesOf(jobs.everyone)).toEqual(
      [
        'fcm:ann:a1',
        'fcm:ann:a2',
        'apns:bob:b1',
        'email:bob:b2',
        'fcm:dan:d1',
        'fcm:eve:e1',
        'apns:fay:f2',
        'email:gus:g1',
      ].sort(),
    );
    const slices = fanoutRecords.filter((job) => job.messageId === jobs.everyone.messageId && job.slice !== null);
    expect(slices.length).toBeGreaterThan(1);
  });

  it('assigns deterministic, sticky variants and records them on batches and events', () => {
    const first = variantsOf(jobs.experimentA);
    const second = variantsOf(jobs.experimentB);
    const assigner = createVariantAssigner(experiment);
    // Everyone but cat (opted out) and fay (her preferences do not accept ws).
    expect([...first.keys()].sort()).toEqual(['ann', 'bob', 'dan', 'eve', 'gus']);
    expect(first.get('ann')).toBe('b');
    for (const [uid, variant] of first) expect(variant).toBe(assigner.assign(uid));
    expect(second).toEqual(first);
    for (const batch of batches.filter((item) => item.messageId === jobs.experimentA.messageId)) {
      expect(batch.experimentId).toBe('exp-subject');
      expect(new Set(batch.recipients.map((recipient) => recipient.variant)).size).toBe(1);
    }
    const queued = events.filter((event) => event.messageId === jobs.experimentA.messageId && event.type === 'queued');
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.every((event) => event.experimentId === 'exp-subject' && event.variant !== null)).toBe(true);
    expect(queued.reduce((sum, event) => sum + JSON.parse(event.detail ?? '{}').recipients, 0)).toBe(5);
  });

  it('gives every batch a unique id and a queued event', () => {
    const ids = batches.map((batch) => batch.batchId);
    expect(new Set(ids).size).toBe(ids.length);
    const queuedIds = new Set(
      events.filter((event) => event.type === 'queued').map((event) => JSON.parse(event.detail ?? '{}').batchId),
    );
    expect(ids.every((id) => queuedIds.has(id))).toBe(true);
  });
});
