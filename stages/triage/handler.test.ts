import { describe, expect, it } from 'vitest';
import { UrgencyGate } from '../../pipeline/runtime/urgency-gate.ts';
import type { FanoutJob, IngestRequest, PrioritizedRequest, StoredMessage } from '../../schemas/types.generated.ts';
import { fixtureNow, ingestRequest, inputRecord } from '../../test/support/prioritize.ts';
import { type ThreadView, type TriageDeps, triageBatch } from './handler.ts';
import { messageIdOf } from './message-id.ts';
import { allowedChannels, choosePlan } from './plan.ts';
import { checkRights } from './rights.ts';

const news: ThreadView = {
  tid: 't-news',
  owner: 'u-owner',
  admins: ['u-admin'],
  publishers: ['u-pub'],
  openPublish: false,
  channelTypes: ['ws', 'webpush', 'email'],
  urgency: 2,
  experiment: {
    id: 'exp-1',
    variants: [
      { name: 'control', weight: 50, uids: null, subject: null, msg: null, channels: null },
      { name: 'b', weight: 50, uids: null, subject: 'B!', msg: null, channels: null },
    ],
  },
};

function lane(request: IngestRequest, urgency = 3, expiresAt: number | null = null) {
  const value: PrioritizedRequest = { request, urgency, expiresAt, prioritizedAt: fixtureNow, scheduled: false };
  return inputRecord(value, `lane.${urgency}`);
}

function fakeDeps(threads: ThreadView[] = [news]) {
  const stored = new Map<string, StoredMessage>();
  const deps: TriageDeps = {
    now: () => fixtureNow + 50,
    threads: { getThread: async (tid) => threads.find((thread) => thread.tid === tid) ?? null },
    messages: {
      async saveMessage(message) {
        stored.set(message.messageId, message);
      },
    },
  };
  return { deps, stored };
}

describe('rights', () => {
  const publish = (id: string, kind: 'user' | 'admin' | 'service' = 'user') => ingestRequest({ sender: { kind, id } });
  it('lets owners, admins, publishers and everyone on open threads publish', () => {
    for (const uid of ['u-owner', 'u-admin', 'u-pub']) expect(() => checkRights(publish(uid), news)).not.toThrow();
    expect(() => checkRights(publish('u-stranger'), news)).toThrow(/may not publish/);
    expect(() => checkRights(publish('u-stranger'), { ...news, openPublish: true })).not.toThrow();
    expect(() => checkRights(publish('svc', 'service'), news)).not.toThrow();
    expect(() => checkRights(publish('root', 'admin'), news)).not.toThrow();
  });
  it('keeps send, multicast and broadcast for admins and services', () => {
    const send = ingestRequest({ kind: 'send', tid: null, uid: 'u-bob', sender: { kind: 'user', id: 'u-owner' } });
    expect(() => checkRights(send, null)).toThrow(expect.objectContaining({ code: 'FORBIDDEN', retriable: false }));
    expect(() => checkRights({ ...send, sender: { kind: 'service', id: 'orders' } }, null)).not.toThrow();
  });
});

describe('plan', () => {
  it('orders channels by the thread and applies the restriction', () => {
    expect(allowedChannels(['email', 'ws', 'bogus'], null, 'r')).toEqual(['email', 'ws']);
    expect(allowedChannels([], ['sms', 'ws'], 'r')).toEqual(['ws', 'sms']);
    expect(() => allowedChannels(['ws'], ['sms'], 'r')).toThrow(expect.objectContaining({ code: 'NO_CHANNEL' }));
  });
  it('picks a plan per urgency', () => {
    expect(choosePlan(4, ['ws', 'apns', 'sms'])).toEqual({
      plan: 'fallback',
      channels: ['ws', 'apns', 'sms'],
      fallbackChannels: ['apns', 'sms'],
      escalateAfterMs: 30_000,
    });
    expect(choosePlan(4, ['ws']).plan).toBe('realtime');
    expect(choosePlan(3, ['ws']).plan).toBe('realtime');
    expect(choosePlan(2, ['ws']).plan).toBe('nearline');
    expect(choosePlan(1, ['ws']).plan).toBe('digest');
  });
});

describe('messageIdOf', () => {
  it('is a deterministic time uuid carrying createdAt', () => {
    const id = messageIdOf('req-1', fixtureNow);
    expect(messageIdOf('req-1', fixtureNow)).toBe(id);
    expect(messageIdOf('req-2', fixtureNow)).not.toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('triageBatch', () => {
  it('stores the message and emits the fanout job, the stored message and a queued event', async () => {
    const { deps, stored } = fakeDeps();
    const request = ingestRequest({
      requestId: 'r1',
      sender: { kind: 'user', id: 'u-pub' },
      channels: ['email', 'ws'],
    });
    const outputs = await triageBatch([lane(request, 2)], deps, 2);
    // Urgency 2 goes to the bulk fanout lane.
    expect(outputs.map((output) => output.topic)).toEqual(['fanout.bulk', 'messages', 'events']);
    const job = outputs[0]?.value as FanoutJob;
    const messageId = messageIdOf('r1', fixtureNow);
    expect(job).toMatchObject({
      messageId,
      requestId: 'r1',
      tid: 't-news',
      audience: { kind: 'thread', tid: 't-news' },
      urgency: 2, // the thread's default
      plan: 'nearline',
      channels: ['ws', 'email'], // thread order, restricted by the request
      experiment: { id: 'exp-1' },
      triagedAt: fixtureNow + 50,
    });
    expect(outputs[0]?.key).toBe(messageId);
    expect(outputs[2]?.value).toMatchObject({ eventId: `${messageId}:queued`, type: 'queued', messageId });
    expect(stored.get(messageId)).toMatchObject({ requestId: 'r1', urgency: 2, channels: ['ws', 'email'] });
  });

  it('maps every kind onto its audience', async () => {
    const { deps } = fakeDeps();
    const admin = { kind: 'admin' as const, id: 'root' };
    const requests = [
      ingestRequest({ requestId: 's', kind: 'send', tid: null, uid: 'u1', sender: admin }),
      ingestRequest({ requestId: 'm', kind: 'multicast', tid: null, uids: ['u1', 'u2', 'u1'], sender: admin }),
      ingestRequest({ requestId: 'b', kind: 'broadcast', tid: null, sender: admin, urgency: 4 }),
    ];
    const outputs = await triageBatch(
      requests.map((request) => lane(request)),
      deps,
      3,
    );
    const jobs = outputs
      .filter((output) => output.topic.startsWith('fanout'))
      .map((output) => output.value as FanoutJob);
    expect(jobs.map((job) => job.audience)).toEqual([
      expect.objectContaining({ kind: 'uids', uids: ['u1'] }),
      expect.objectContaining({ kind: 'uids', uids: ['u1', 'u2'] }),
      expect.objectContaining({ kind: 'everyone' }),
    ]);
    expect(jobs[2]).toMatchObject({ urgency: 4, plan: 'fallback', experiment: null });
  });

  it('refuses an unknown thread or a sender without rights before storing anything', async () => {
    const { deps, stored } = fakeDeps();
    const ok = lane(ingestRequest({ requestId: 'ok', sender: { kind: 'user', id: 'u-owner' } }));
    const stranger = lane(ingestRequest({ requestId: 'no', sender: { kind: 'user', id: 'u-x' } }));
    const nowhere = lane(ingestRequest({ requestId: 'gone', tid: 't-gone', sender: { kind: 'admin', id: 'root' } }));
    await expect(triageBatch([ok, stranger], deps, 3)).rejects.toMatchObject({ code: 'FORBIDDEN', retriable: false });
    await expect(triageBatch([ok, nowhere], deps, 3)).rejects.toMatchObject({ code: 'UNKNOWN_THREAD' });
    expect(stored.size).toBe(0);
  });

  it('turns a request that expired in its lane into an expired event', async () => {
    const { deps, stored } = fakeDeps();
    const request = ingestRequest({ requestId: 'late', sender: { kind: 'admin', id: 'root' } });
    const outputs = await triageBatch([lane(request, 3, fixtureNow + 10)], deps, 3);
    expect(outputs).toEqual([
      expect.objectContaining({
        topic: 'events',
        value: expect.objectContaining({ type: 'expired', requestId: 'late' }),
      }),
    ]);
    expect(stored.size).toBe(0);
  });

  it('is idempotent: a redelivered record yields the same message id and row', async () => {
    const { deps, stored } = fakeDeps();
    const record = lane(ingestRequest({ requestId: 'again', sender: { kind: 'user', id: 'u-owner' } }));
    const first = await triageBatch([record], deps, 3);
    const second = await triageBatch([record], deps, 3);
    expect((second[0]?.value as FanoutJob | undefined)?.messageId).toBe(messageIdOf('again', fixtureNow));
    expect((first[0]?.value as FanoutJob | undefined)?.messageId).toBe(messageIdOf('again', fixtureNow));
    expect(stored.size).toBe(1);
  });

  it('makes a low lane wait while the process handles urgent work', async () => {
    // The runtime's gate: it holds rank 2 while a lane.4 batch is handled and passes each stage its giveWay.
    const gate = new UrgencyGate({ maxWaitMs: 5_000 });
    const order: string[] = [];
    let releaseUrgent: (() => void) | undefined;
    const urgentStarted = new Promise<void>((started) => {
      const { deps } = fakeDeps();
      const handling = gate.hold(2);
      deps.giveWay = async () => {
        throw new Error('the urgent lane never gives way');
      };
      deps.messages = {
        saveMessage: (message) =>
          new Promise<void>((resolve) => {
            started();
            releaseUrgent = () => {
              order.push(`stored ${message.requestId}`);
              resolve();
              handling();
            };
          }),
      };
      void triageBatch([lane(ingestRequest({ requestId: 'u4', sender: { kind: 'admin', id: 'a' } }), 4)], deps, 4);
    });
    await urgentStarted;
    const { deps: lowDeps } = fakeDeps();
    lowDeps.giveWay = () => gate.giveWay(0).then(() => undefined);
    lowDeps.messages = {
      async saveMessage(message) {
        order.push(`stored ${message.requestId}`);
      },
    };
    const low = triageBatch(
      [lane(ingestRequest({ requestId: 'u1', sender: { kind: 'admin', id: 'a' } }), 1)],
      lowDeps,
      1,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]);
    releaseUrgent?.();
    await low;
    expect(order).toEqual(['stored u4', 'stored u1']);
  });
});
