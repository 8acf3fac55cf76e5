import { describe, expect, it } from 'vitest';
import type { PageOptions } from '../../pipeline/audience-index/types.ts';
import { createPacer } from '../../pipeline/concurrency/pacer.ts';
import { defaultBatchSizes } from '../../pipeline/records/batcher.ts';
import type { InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';
import type { DeliveryBatch, DeliveryEvent, FanoutJob } from '../../schemas/types.generated.ts';
import { audienceDoc, memoryAudience, testDevice } from '../../test/support/memory-audience.ts';
import { type FanoutDependencies, type FanoutHandlerSettings, handleFanout } from './handler.ts';

const now = 1_767_225_600_000;
const settings: FanoutHandlerSettings = {
  pageSize: 7,
  batchSizes: defaultBatchSizes,
  maxDevicesPerChannel: 10,
  wsReachability: 'always',
  sliceUsers: 1_000,
};

/** Everything one handler call streams. */
async function fanout(batch: InputRecord<FanoutJob>[], dependencies: FanoutDependencies): Promise<OutputRecord[]> {
  const outputs: OutputRecord[] = [];
  for await (const output of handleFanout(batch, dependencies)) outputs.push(output);
  return outputs;
}

const fcm = (id: string) => testDevice('fcm', id);
const apns = (id: string) => testDevice('apns', id);
const email = (id: string) => testDevice('email', id);

function job(parts: Partial<FanoutJob> = {}): FanoutJob {
  return {
    messageId: 'm-1',
    requestId: 'r-1',
    tid: 't-1',
    audience: { kind: 'thread', tid: 't-1', uids: null, cohort: null, experimentId: null, variant: null },
    urgency: 3,
    plan: 'realtime',
    channels: ['ws', 'fcm', 'apns'],
    fallbackChannels: null,
    escalateAfterMs: null,
    subject: 'Hello',
    msg: 'World',
    opts: null,
    data: null,
    collapseKey: null,
    expiresAt: null,
    experiment: null,
    slice: null,
    sender: { kind: 'user', id: 'alice' },
    createdAt: now - 1000,
    triagedAt: now - 500,
    trace: null,
    ...parts,
  };
}

const everyone: FanoutJob['audience'] = {
  kind: 'everyone',
  tid: null,
  uids: null,
  cohort: null,
  experimentId: null,
  variant: null,
};

const input = (value: FanoutJob, headers: Record<string, string> = {}): InputRecord<FanoutJob> => ({
  topic: 'fanout',
  partition: 0,
  offset: '0',
  key: value.messageId,
  value,
  headers,
  timestamp: now,
});

const deps = (
  source: ReturnType<typeof memoryAudience>,
  overrides: Partial<FanoutHandlerSettings> = {},
): FanoutDependencies => ({
  audience: source,
  settings: { ...settings, ...overrides },
  now: () => now,
});

const batchesOf = (outputs: OutputRecord[]) =>
  outputs.filter((output) => output.topic.startsWith('deliver.')).map((output) => output.value as DeliveryBatch);
const eventsOf = (outputs: OutputRecord[]) =>
  outputs.filter((output) => output.topic === 'events').map((output) => output.value as DeliveryEvent);
const deliveries = (outputs: OutputRecord[]) =>
  batchesOf(outputs)
    .flatMap((batch) =>
      batch.recipients.map((recipient) => `${batch.channel}:${recipient.uid}:${recipient.device?.id ?? '-'}`),
    )
    .sort();

describe('fanout handler', () => {
  const threadUsers = [
    audienceDoc('ann', { tids: ['t-1'], devices: { fcm: [fcm('a1'), fcm('a2')] } }),
    audienceDoc('bob', { tids: ['t-1'], devices: { apns: [apns('b1')], email: [email('b')] } }),
    audienceDoc('cat', { tids: ['t-1'], channels: ['~'], devices: { fcm: [fcm('c1')] } }),
    audienceDoc('dan', { tids: ['t-2'], devices: { fcm: [fcm('d1')] } }),
    audienceDoc('eve', {
      tids: ['t-1'],
      threadPreferences: [{ tid: 't-1', channels: ['~'] }],
      devices: { fcm: [fcm('e1')] },
    }),
    audienceDoc('fay', { tids: ['t-1'], channels: ['apns'], devices: { fcm: [fcm('f1')], apns: [apns('f2')] } }),
  ];

  it("reaches exactly a thread's subscribers on every allowed device, honouring opt-out and thread mutes", async () => {
    const outputs = await fanout([input(job())], deps(memoryAudience(threadUsers)));
    expect(deliveries(outputs)).toEqual(
      [
        'apns:bob:b1',
        'apns:fay:f2',
        'fcm:ann:a1',
        'fcm:ann:a2',
        'ws:ann:-',
        'ws:bob:-',
        // fay's preference list only accepts apns.
      ].sort(),
    );
    expect(outputs.every((output) => output.topic !== 'deliver.email')).toBe(true);
  });

  it('honours the channel restriction and picks one channel for nearline', async () => {
    const restricted = await fanout([input(job({ channels: ['fcm'] }))], deps(memoryAudience(threadUsers)));
    expect(deliveries(restricted)).toEqual(['fcm:ann:a1', 'fcm:ann:a2']);
    // The job's urgency (3 here) keeps its batches on the channel's shared topic.
    expect(restricted.filter((output) => output.topic.startsWith('deliver.')).map((output) => output.topic)).toEqual([
      'deliver.fcm',
    ]);
    const nearline = await fanout(
      [input(job({ plan: 'nearline', channels: ['ws', 'apns', 'email'] }))],
      deps(memoryAudience(threadUsers)),
    );
    // No one is connected (ws presence), so bob gets apns only, the first reachable channel.
    expect(deliveries(nearline)).toEqual(['apns:bob:b1', 'apns:fay:f2']);
  });

  it('sends urgent (fallback) messages to open WebSockets too, with one push channel to escalate from', async () => {
    const escalated: string[] = [];
    const urgent = await fanout([input(job({ plan: 'fallback', urgency: 4, channels: ['apns', 'fcm', 'ws'] }))], {
      ...deps(memoryAudience([...threadUsers, audienceDoc('gus', { tids: ['t-1'] })])),
      recordEscalations: async (_job, entries) => {
        escalated.push(...entries.map((entry) => entry.uid));
      },
    });
    // gus has no device at all: only a connected client can reach him, so ws is his only delivery.
    expect(deliveries(urgent)).toEqual(
      ['fcm:ann:a1', 'fcm:ann:a2', 'ws:ann:-', 'apns:bob:b1', 'ws:bob:-', 'apns:fay:f2', 'ws:gus:-'].sort(),
    );
    // Urgency 4 travels on delivery topics of its own, never behind a broadcast's batches.
    const deliveryTopics = urgent.filter((output) => output.topic.startsWith('deliver.')).map((output) => output.topic);
    expect(new Set(deliveryTopics)).toEqual(
      new Set(['deliver.fcm.urgent', 'deliver.ws.urgent', 'deliver.apns.urgent']),
    );
    // With presence only (the index marks no one connected) nobody gets a ws copy and gus is unreachable.
    const presence = await fanout([input(job({ plan: 'fallback', urgency: 4, channels: ['apns', 'fcm', 'ws'] }))], {
      ...deps(memoryAudience([...threadUsers, audienceDoc('gus', { tids: ['t-1'] })]), { wsReachability: 'presence' }),
      recordEscalations: async () => undefined,
    });
    expect(deliveries(presence)).toEqual(['apns:bob:b1', 'apns:fay:f2', 'fcm:ann:a1', 'fcm:ann:a2'].sort());
  });

  it('cuts batches at the channel size with deterministic ids and one queued event per batch', async () => {
    const many = Array.from({ length: 23 }, (_, index) =>
      audienceDoc(`u${String(index).padStart(2, '0')}`, { tids: ['t-1'], devices: { fcm: [fcm(`d${index}`)] } }),
    );
    const run = () =>
      fanout(
        [input(job({ channels: ['fcm'] }))],
        deps(memoryAudience(many), { batchSizes: { ...defaultBatchSizes, fcm: 10 } }),
      );
    const first = await run();
    const batches = batchesOf(first);
    expect(batches.map((batch) => batch.recipients.length)).toEqual([10, 10, 3]);
    expect(new Set(batches.map((batch) => batch.batchId)).size).toBe(3);
    const queued = eventsOf(first).filter((event) => event.type === 'queued');
    expect(queued.map((event) => JSON.parse(event.detail ?? '{}').recipients)).toEqual([10, 10, 3]);
    // A redelivered job repeats the very same batch and event ids.
    const again = await run();
    expect(batchesOf(again).map((batch) => batch.batchId)).toEqual(batches.map((batch) => batch.batchId));
    expect(eventsOf(again).map((event) => event.eventId)).toEqual(eventsOf(first).map((event) => event.eventId));
  });

  it('reaches a uid list, and reports unknown and opted-out users as dropped counts', async () => {
    const audience = {
      kind: 'uids' as const,
      tid: null,
      uids: ['ann', 'cat', 'ghost', 'dan'],
      cohort: null,
      experimentId: null,
      variant: null,
    };
    const outputs = await fanout(
      [input(job({ tid: null, audience, channels: ['fcm'] }))],
      deps(memoryAudience(threadUsers)),
    );
    expect(deliveries(outputs)).toEqual(['fcm:ann:a1', 'fcm:ann:a2', 'fcm:dan:d1']);
    const dropped = eventsOf(outputs).filter((event) => event.type === 'dropped');
    expect(
      Object.fromEntries(dropped.map((event) => [event.reason, JSON.parse(event.detail ?? '{}').recipients])),
    ).toEqual({
      OPTED_OUT: 1,
      UNKNOWN_USER: 1,
    });
  });

  it('assigns sticky variants, records them on recipients and events, and keeps batches to one variant', async () => {
    const users = Array.from({ length: 200 }, (_, index) =>
      audienceDoc(`v${index}`, { devices: { fcm: [fcm(`x${index}`)] } }),
    );
    const experiment = {
      id: 'exp-1',
      variants: [
        { name: 'control', weight: 50, uids: null, subject: null, msg: null, channels: null },
        { name: 'b', weight: 50, uids: ['v0'], subject: 'Hey', msg: null, channels: null },
      ],
    };
    const run = () =>
      fanout(
        [input(job({ tid: null, audience: everyone, channels: ['fcm'], experiment }))],
        deps(memoryAudience(users)),
      );
    const first = await run();
    const variantOf = new Map(batchesOf(first).flatMap((batch) => batch.recipients.map((r) => [r.uid, r.variant])));
    expect(variantOf.size).toBe(200);
    expect(variantOf.get('v0')).toBe('b');
    expect(new Set(variantOf.values())).toEqual(new Set(['control', 'b']));
    for (const batch of batchesOf(first)) {
      const names = new Set(batch.recipients.map((recipient) => recipient.variant));
      expect(names.size).toBe(1);
      expect(batch.variants?.map((variant) => variant.name)).toEqual([...names]);
      expect(batch.experimentId).toBe('exp-1');
    }
    const queued = eventsOf(first).filter((event) => event.type === 'queued');
    expect(queued.every((event) => event.experimentId === 'exp-1' && event.variant !== null)).toBe(true);
    const again = await run();
    expect(new Map(batchesOf(again).flatMap((batch) => batch.recipients.map((r) => [r.uid, r.variant])))).toEqual(
      variantOf,
    );
  });

  it("narrows, never widens, the message's channels by a variant's channel override", async () => {
    const users = [audienceDoc('v1', { devices: { fcm: [fcm('f')], apns: [apns('a')], email: [email('e')] } })];
    const experiment = {
      id: 'exp-channels',
      variants: [
        {
          name: 'only',
          weight: 100,
          uids: null,
          subject: null,
          msg: null,
          channels: ['email' as const, 'apns' as const],
        },
      ],
    };
    const audience = {
      kind: 'uids' as const,
      tid: null,
      uids: ['v1'],
      cohort: null,
      experimentId: null,
      variant: null,
    };
    const outputs = await fanout(
      [input(job({ tid: null, audience, channels: ['fcm', 'apns'], experiment }))],
      deps(memoryAudience(users)),
    );
    expect(deliveries(outputs)).toEqual(['apns:v1:a']);
  });

  it("gives a split audience's users the variant they are split into", async () => {
    const users = [
      audienceDoc('s1', { splits: [{ experiment: 'exp-s', variant: 'b' }], devices: { fcm: [fcm('s1')] } }),
      audienceDoc('s2', { splits: [{ experiment: 'exp-s', variant: 'a' }], devices: { fcm: [fcm('s2')] } }),
    ];
    const audience = {
      kind: 'split' as const,
      tid: null,
      uids: null,
      cohort: null,
      experimentId: 'exp-s',
      variant: 'b',
    };
    const outputs = await fanout([input(job({ tid: null, audience, channels: ['fcm'] }))], deps(memoryAudience(users)));
    expect(batchesOf(outputs).flatMap((batch) => batch.recipients.map((r) => [r.uid, r.variant]))).toEqual([
      ['s1', 'b'],
    ]);
  });

  it('cuts a large audience into slice jobs that together reach everyone once', async () => {
    const users = Array.from({ length: 50 }, (_, index) =>
      audienceDoc(`w${index}`, { devices: { fcm: [fcm(`w${index}`)] } }),
    );
    const source = memoryAudience(users);
    const sliced = await fanout(
      [input(job({ tid: null, audience: everyone, channels: ['fcm'] }))],
      deps(source, { sliceUsers: 20 }),
    );
    expect(sliced.map((output) => output.topic)).toEqual(['fanout', 'fanout', 'fanout']);
    const slices = sliced.map((output) => output.value as FanoutJob);
    expect(slices.map((slice) => slice.slice)).toEqual([0, 1, 2].map((id) => ({ id, max: 3 })));
    expect(new Set(sliced.map((output) => output.key)).size).toBe(3);
    const reached = [];
    for (const slice of slices)
      reached.push(...deliveries(await fanout([input(slice)], deps(source, { sliceUsers: 20 }))));
    expect(reached.sort()).toEqual(users.map((user) => `fcm:${user.uid}:${user.uid}`).sort());
  });

  it("hands the stage's pacer to every audience walk, so a bulk broadcast's paging can give way", async () => {
    const users = [
      audienceDoc('p1', { devices: { fcm: [fcm('p1')] } }),
      audienceDoc('p2', { devices: { fcm: [fcm('p2')] } }),
    ];
    const source = memoryAudience(users);
    const seen: (PageOptions['pacer'] | undefined)[] = [];
    const watched: typeof source = {
      ...source,
      pages(query, options) {
        seen.push(options.pacer);
        return source.pages(query, options);
      },
    };
    const pacer = createPacer({ tolerance: 1.5, maxPauseMs: 100 });
    const outputs = await fanout([input(job({ tid: null, audience: everyone, channels: ['fcm'] }))], {
      ...deps(watched),
      pacer,
    });
    expect(deliveries(outputs)).toEqual(['fcm:p1:p1', 'fcm:p2:p2']);
    expect(seen).toEqual([pacer]);
    // Without one (the urgent and normal lanes), walks are not paced.
    seen.length = 0;
    await fanout([input(job({ tid: null, audience: everyone, channels: ['fcm'] }))], deps(watched));
    expect(seen).toEqual([undefined]);
  });

  it('has the audience open only the devices of the channels the job may use (their secrets are decrypted)', async () => {
    const users = [audienceDoc('d1', { devices: { fcm: [fcm('d1')], apns: [apns('d1')], email: [email('d1')] } })];
    const source = memoryAudience(users);
    const asked: PageOptions['devicesOn'][] = [];
    const watched: typeof source = {
      ...source,
      pages(query, options) {
        asked.push(options.devicesOn);
        return source.pages(query, options);
      },
    };
    const outputs = await fanout(
      [input(job({ tid: null, audience: everyone, channels: ['fcm', 'email'], plan: 'fallback' }))],
      deps(watched),
    );
    expect(asked).toEqual([['fcm', 'email']]);
    expect(deliveries(outputs)).toEqual(['fcm:d1:d1']);
  });

  it('streams a large audience through one call: the first batch comes out after a page or two, not the audience', async () => {
    const users = Array.from({ length: 300 }, (_, index) =>
      audienceDoc(`s${String(index).padStart(3, '0')}`, { devices: { fcm: [fcm(`s${index}`)] } }),
    );
    const source = memoryAudience(users);
    const stream = handleFanout(
      [input(job({ tid: null, audience: everyone, channels: ['fcm'] }))],
      deps(source, { batchSizes: { ...defaultBatchSizes, fcm: 10 } }),
    );
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect((first.value as OutputRecord).topic).toBe('deliver.fcm');
    // Pages of 7: the first batch of 10 needs two, and the next one is prefetched; 43 pages in all.
    expect(source.pagesRead).toBeLessThanOrEqual(3);
    const rest: OutputRecord[] = [first.value as OutputRecord];
    for await (const output of stream) rest.push(output);
    expect(source.pagesRead).toBe(43);
    expect(deliveries(rest)).toEqual(users.map((user, index) => `fcm:${user.uid}:s${index}`).sort());
    expect(rest.some((output) => output.topic === 'fanout')).toBe(false);
  });

  it('stops reading the audience when the runtime stops pulling', async () => {
    const users = Array.from({ length: 100 }, (_, index) =>
      audienceDoc(`q${String(index).padStart(3, '0')}`, { devices: { fcm: [fcm(`q${index}`)] } }),
    );
    const source = memoryAudience(users);
    const stream = handleFanout(
      [input(job({ tid: null, audience: everyone, channels: ['fcm'] }))],
      deps(source, { batchSizes: { ...defaultBatchSizes, fcm: 10 } }),
    );
    await stream.next();
    await stream.return();
    expect(source.pagesRead).toBeLessThanOrEqual(3);
  });

  it('drops an expired job with one expired event', async () => {
    const outputs = await fanout([input(job({ expiresAt: now - 1 }))], deps(memoryAudience(threadUsers)));
    expect(outputs).toHaveLength(1);
    expect(eventsOf(outputs)[0]?.type).toBe('expired');
  });

  it("writes each page's recipients to their inbox before any delivery of that page leaves", async () => {
    const many = Array.from({ length: 23 }, (_, index) =>
      audienceDoc(`u${String(index).padStart(2, '0')}`, { tids: ['t-1'], devices: { fcm: [fcm(`d${index}`)] } }),
    );
    const muted = audienceDoc('zed', { tids: ['t-1'], channels: ['~'], devices: { fcm: [fcm('z1')] } });
    const log: string[] = [];
    const inboxed = new Map<string, number>();
    const dependencies: FanoutDependencies = {
      ...deps(memoryAudience([...many, muted])),
      recordInbox: async (entries) => {
        for (const entry of entries) {
          inboxed.set(entry.uid, log.length);
          expect(entry).toMatchObject({ messageId: 'm-1', kind: 'thread', tid: 't-1', msg: 'World', urgency: 3 });
        }
        log.push(`inbox:${entries.length}`);
      },
    };
    for await (const output of handleFanout([input(job())], dependencies)) {
      if (!output.topic.startsWith('deliver.')) continue;
      for (const recipient of (output.value as DeliveryBatch).recipients) {
        const at = inboxed.get(recipient.uid);
        expect(at, `${recipient.uid} in the inbox before its delivery`).toBeDefined();
      }
      log.push('batch');
    }
    expect([...inboxed.keys()].sort()).toEqual(many.map((doc) => doc.uid));
    // Pages of 7: four inbox writes, the first before any batch.
    expect(log.filter((entry) => entry.startsWith('inbox'))).toHaveLength(4);
    expect(log[0]).toBe('inbox:7');
  });

  it('writes a broadcast to the inbox once, before any delivery, and no row per recipient', async () => {
    const many = Array.from({ length: 23 }, (_, index) =>
      audienceDoc(`u${String(index).padStart(2, '0')}`, { devices: { fcm: [fcm(`d${index}`)] } }),
    );
    const log: string[] = [];
    const dependencies: FanoutDependencies = {
      ...deps(memoryAudience(many)),
      recordInbox: async (entries) => {
        log.push(`inbox:${entries.length}`);
      },
      recordBroadcast: async (entry) => {
        expect(entry).toMatchObject({ messageId: 'm-1', msg: 'World', subject: 'Hello', urgency: 1, experiment: null });
        log.push('broadcast');
      },
    };
    const outputs: OutputRecord[] = [];
    for await (const output of handleFanout(
      [input(job({ audience: everyone, tid: null, urgency: 1 }))],
      dependencies,
    )) {
      outputs.push(output);
      if (output.topic.startsWith('deliver.')) log.push('batch');
    }
    expect(log[0]).toBe('broadcast');
    expect(log.filter((step) => step === 'broadcast')).toHaveLength(1);
    expect(log.filter((step) => step.startsWith('inbox'))).toEqual([]);
    const recipients = outputs
      .filter((output) => output.topic.startsWith('deliver.'))
      .flatMap((output) => (output.value as DeliveryBatch).recipients.map((recipient) => recipient.uid));
    expect(new Set(recipients).size).toBe(23);
  });
});
