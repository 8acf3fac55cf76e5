import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../../pipeline/store/message.ts';
import type { DeliveryState } from '../../../pipeline/store/message-types.ts';
import type { Acknowledgement } from '../../../schemas/index.ts';
import { downPublisher, memoryPublisher, thread, unitApp, unitDeps } from '../../../test/support/http.ts';
import { type CatchUpMessage, catchUpPage } from './thread-messages.ts';

/** The flow routes' own logic over in-memory stores; test/http/flow.test.ts runs them on the real servers. */

const tid = '0b6f3c2a-1d4e-4f5a-8b9c-0d1e2f3a4b5c';
const otherTid = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';
const m1 = '11111111-1111-11f0-8000-000000000001';
const m2 = '22222222-1111-11f0-8000-000000000002';

const stored = (messageId: string, index: number): StoredMessage => ({
  messageId,
  requestId: `req-${index}`,
  kind: 'publish',
  tid,
  audience: { kind: 'thread', tid, uids: null, cohort: null, experimentId: null, variant: null },
  sender: { kind: 'user', id: 'alice' },
  subject: null,
  msg: `message ${index}`,
  opts: null,
  data: index === 0 ? '{"n":0}' : 'not json',
  urgency: 3,
  channels: ['ws'],
  collapseKey: null,
  experimentId: null,
  createdAt: index,
  scheduledAt: null,
  expiresAt: null,
  storedAt: index,
  trace: null,
});

const sentState = (messageId: string, uid: string): DeliveryState => ({
  messageId,
  uid,
  channel: 'ws',
  state: 'sent',
  states: { sent: new Date(0) },
  errorCode: null,
  error: null,
  deviceId: null,
  variant: null,
  updatedAt: new Date(0),
});

function harness(options: { kafkaDown?: boolean } = {}) {
  const acks = memoryPublisher<Acknowledgement>();
  const markers = new Map<string, string>();
  const messages = [m1, m2].map(stored);
  const { call } = unitApp({
    acks: options.kafkaDown ? downPublisher<Acknowledgement>() : acks,
    threads: {
      ...unitDeps().threads,
      getThread: async (id) => (id === tid ? thread({ tid, owner: 'alice' }) : null),
      isSubscribed: async (id, uid) => id === tid && uid === 'bob',
    },
    messages: {
      deliverySummary: async () => null,
      // Bob was sent m1 and m2 (on ws); nobody was sent anything else.
      deliveryOf: async (messageId, uid) =>
        uid === 'bob' && [m1, m2].includes(messageId) ? [sentState(messageId, uid)] : [],
      setReadMarker: async (uid, id, messageId) => {
        markers.set(`${uid}|${id}`, messageId);
      },
      getMessage: async (messageId) => messages.find((message) => message.messageId === messageId) ?? null,
      readMarker: async (uid, id) => {
        const messageId = markers.get(`${uid}|${id}`);
        return messageId === undefined ? null : { messageId, updatedAt: new Date(0) };
      },
      messagesAfter: async (_id, after, limit = 100) => {
        const from =
          after === null ? Math.max(0, messages.length - limit) : messages.findIndex((m) => m.messageId === after) + 1;
        return messages.slice(from, from + limit);
      },
    },
  });
  return { call, acks: acks.sent, markers };
}

const ids = (body: unknown) => (body as { messages: CatchUpMessage[] }).messages.map((message) => message.id);

describe('POST /api/v1/ack', () => {
  it('records an acknowledgement for the token user once Kafka has it', async () => {
    const { call, acks } = harness();
    const response = await call('POST', '/api/v1/ack', { json: { messageId: m1, channel: 'fcm', status: 'opened' } });
    expect([response.status, response.body]).toEqual([200, true]);
    expect(acks).toEqual([
      expect.objectContaining({
        ackId: `http:bob:${m1}:fcm:opened`,
        type: 'opened',
        uid: 'bob',
        channel: 'fcm',
        source: 'http',
        at: 1_767_225_600_000,
      }),
    ]);
  });

  it('answers 400 with the issues, 401 without a token, and 503 with Retry-After when Kafka is down', async () => {
    const { call, acks } = harness();
    const invalid = await call('POST', '/api/v1/ack', {
      json: { messageId: 'nope', channel: 'pigeon', status: 'opened', uid: 'x' },
    });
    expect(invalid.status).toBe(400);
    const body = invalid.body as { error: string; issues: { path: string[] }[] };
    expect(body.error).toBe('INVALID_REQUEST');
    expect(body.issues.map((issue) => issue.path.join('.')).sort()).toEqual(['', 'channel', 'messageId']);
    expect((await call('POST', '/api/v1/ack', { as: null, json: {} })).status).toBe(401);
    expect(acks).toEqual([]);

    const down = await harness({ kafkaDown: true }).call('POST', '/api/v1/ack', {
      json: { messageId: m1, channel: 'ws', status: 'delivered' },
    });
    expect([down.status, (down.body as { error: string }).error]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(down.headers.get('retry-after')).toBe('5');
  });
});

describe('POST /api/v1/ack: bounds', () => {
  const now = 1_767_225_600_000;

  it('acknowledges only messages delivered to the caller: 404 unknown, 409 with Retry-After not delivered', async () => {
    const { call, acks } = harness();
    const never = '33333333-1111-11f0-8000-000000000003';
    const unknown = await call('POST', '/api/v1/ack', { json: { messageId: never, channel: 'ws', status: 'opened' } });
    expect(unknown.status).toBe(404);
    const stranger = await call('POST', '/api/v1/ack', {
      as: 'mallory',
      json: { messageId: m1, channel: 'ws', status: 'opened' },
    });
    expect([stranger.status, (stranger.body as { error: string }).error]).toEqual([409, 'NOT_DELIVERED']);
    expect(stranger.headers.get('retry-after')).toBe('1');
    expect(acks).toEqual([]);
  });

  it('bounds the client time to a window around now', async () => {
    const { call, acks } = harness();
    const ack = (at: number) =>
      call('POST', '/api/v1/ack', { json: { messageId: m1, channel: 'ws', status: 'opened', at } });
    const year275760 = await ack(8_640_000_000_000_000);
    expect(year275760.status).toBe(400);
    expect((year275760.body as { issues: { path: string[] }[] }).issues[0]?.path).toEqual(['at']);
    expect((await ack(now + 3_600_000)).status).toBe(400);
    expect((await ack(now - 400 * 86_400_000)).status).toBe(400);
    expect((await ack(now + 60_000)).status).toBe(200);
    expect((await ack(now - 30 * 86_400_000)).status).toBe(200);
    expect(acks.map((sent) => sent.at)).toEqual([now + 60_000, now - 30 * 86_400_000]);
  });

  it('answers 401 without a token with a challenge that carries no error code (RFC 6750 §3.1)', async () => {
    const { call } = harness();
    const response = await call('POST', '/api/v1/ack', { as: null, json: {} });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="msgxc"');
  });
});

describe('POST /api/v1/read', () => {
  it('sets the marker and records a read for readers of the thread only', async () => {
    const { call, markers, acks } = harness();
    expect((await call('POST', '/api/v1/read', { json: { tid, messageId: m1 } })).status).toBe(200);
    expect(markers.get(`bob|${tid}`)).toBe(m1);
    expect(acks.map((ack) => [ack.type, ack.ackId, ack.tid, ack.channel])).toEqual([
      ['read', `http:bob:${m1}:read`, tid, null],
    ]);
    // Neither a stranger nor an unknown thread learns anything (404 alike), and nothing is written.
    expect((await call('POST', '/api/v1/read', { as: 'mallory', json: { tid, messageId: m1 } })).status).toBe(404);
    expect((await call('POST', '/api/v1/read', { json: { tid: otherTid, messageId: m1 } })).status).toBe(404);
    expect([markers.size, acks.length]).toEqual([1, 1]);
  });
});

describe('GET /api/v1/threads/{tid}/messages', () => {
  it('pages after a message, starts at the read marker by default, and refuses other readers', async () => {
    const { call } = harness();
    const after = await call('GET', `/api/v1/threads/${tid}/messages?after=${m1}`);
    expect(ids(after.body)).toEqual([m2]);
    expect((after.body as { messages: CatchUpMessage[] }).messages[0]).toMatchObject({
      tid,
      msg: 'message 1',
      data: 'not json',
      sender: { kind: 'user', id: 'alice' },
    });
    const newest = await call('GET', `/api/v1/threads/${tid}/messages?limit=1`);
    expect([ids(newest.body), (newest.body as { more: boolean }).more]).toEqual([[m2], true]);
    const all = await call('GET', `/api/v1/threads/${tid}/messages`);
    expect((all.body as { messages: CatchUpMessage[] }).messages[0]?.data).toEqual({ n: 0 });

    await call('POST', '/api/v1/read', { json: { tid, messageId: m2 } });
    const caughtUp = await call('GET', `/api/v1/threads/${tid}/messages`);
    expect(caughtUp.body).toEqual({ tid, after: m2, messages: [], more: false });

    expect((await call('GET', `/api/v1/threads/${tid}/messages`, { as: 'mallory' })).status).toBe(404);
    const invalid = await call('GET', `/api/v1/threads/${tid}/messages?limit=0&after=x`);
    expect(invalid.status).toBe(400);
    expect(
      (invalid.body as { issues: { path: string[] }[] }).issues.map((issue) => issue.path.join('.')).sort(),
    ).toEqual(['after', 'limit']);
    expect((await call('GET', '/api/v1/threads/t-1/messages')).status).toBe(400);
  });
});

describe('catchUpPage', () => {
  it('keeps the oldest after a marker and the newest without one', () => {
    expect(catchUpPage([1, 2, 3], 2, 'm')).toEqual({ messages: [1, 2], more: true });
    expect(catchUpPage([1, 2, 3], 2, null)).toEqual({ messages: [2, 3], more: true });
    expect(catchUpPage([1, 2], 2, null)).toEqual({ messages: [1, 2], more: false });
  });
});
