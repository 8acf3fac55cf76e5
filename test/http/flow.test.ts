import { randomUUID } from 'node:crypto';
import { types } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createMessageStore, type StoredMessage } from '../../pipeline/store/message.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import type { CatchUpMessage } from '../../stages/http/routes/thread-messages.ts';
import { consume, createHarness, dropTestData, type Harness, token } from './support.ts';

/**
 * The flow routes (ack, read markers, catch-up) through the facade over the real message and thread
 * stores and a real producer to `acks`.
 */

let h: Harness;
let cassandra: ReturnType<typeof createCassandra>;
const tid = randomUUID();
const ids: string[] = [];

function message(messageId: string, index: number): StoredMessage {
  return {
    messageId,
    requestId: `req-${index}`,
    kind: 'publish',
    tid,
    audience: { kind: 'thread', tid, uids: null, cohort: null, experimentId: null, variant: null },
    sender: { kind: 'user', id: 'alice' },
    subject: null,
    msg: `message ${index}`,
    opts: null,
    data: JSON.stringify({ n: index }),
    urgency: 3,
    channels: ['ws'],
    collapseKey: null,
    experimentId: null,
    createdAt: 1_767_225_600_000 + index,
    scheduledAt: null,
    expiresAt: null,
    storedAt: 1_767_225_600_000 + index,
    trace: null,
  };
}

beforeAll(async () => {
  h = await createHarness();
  cassandra = createCassandra(h.config);
  const threads = createThreadStore(cassandra);
  await threads.createThread({ tid, owner: 'alice' });
  await threads.subscribe(tid, 'bob');
  const messages = createMessageStore(cassandra);
  for (let index = 0; index < 4; index++) {
    const id = types.TimeUuid.fromDate(new Date(1_767_225_600_000 + index * 1000)).toString();
    ids.push(id);
    await messages.saveMessage(message(id, index));
  }
  // Only a message delivered to the caller may be acknowledged.
  await messages.recordDelivery({ messageId: ids[3]!, uid: 'bob', channel: 'webpush', state: 'sent', at: Date.now() });
});

afterAll(async () => {
  await cassandra?.shutdown();
  await h?.close();
  if (h) await dropTestData(h.config);
});

async function call(method: string, path: string, uid: string | null, body?: unknown) {
  const response = await h.request(path, {
    method,
    token: uid === null ? null : await token({ sub: uid }),
    ...(body !== undefined && { json: body }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const messageIds = (body: Record<string, unknown>) => (body.messages as CatchUpMessage[]).map((item) => item.id);

describe('flow routes on the real stack', () => {
  it('returns the messages after a marker in order, to readers of the thread only', async () => {
    const after = await call('GET', `/api/v1/threads/${tid}/messages?after=${ids[0]}`, 'bob');
    expect(after.status).toBe(200);
    expect(messageIds(after.body)).toEqual(ids.slice(1));
    expect((after.body.messages as CatchUpMessage[])[0]).toMatchObject({
      tid,
      msg: 'message 1',
      data: { n: 1 },
      sender: { id: 'alice' },
      sentAt: 1_767_225_600_001,
    });
    const page = await call('GET', `/api/v1/threads/${tid}/messages?after=${ids[0]}&limit=2`, 'bob');
    expect([messageIds(page.body), page.body.more]).toEqual([ids.slice(1, 3), true]);
    const newest = await call('GET', `/api/v1/threads/${tid}/messages?limit=3`, 'alice');
    expect([newest.body.after, messageIds(newest.body), newest.body.more]).toEqual([null, ids.slice(1), true]);
    // A stranger and an unknown thread look the same: 404.
    expect((await call('GET', `/api/v1/threads/${tid}/messages`, 'mallory')).status).toBe(404);
    expect((await call('GET', `/api/v1/threads/${randomUUID()}/messages`, 'bob')).status).toBe(404);
    expect((await call('GET', `/api/v1/threads/${tid}/messages`, null)).status).toBe(401);
  });

  it('keeps a read marker that catch-up starts from, and only moves it forward', async () => {
    const read = await call('POST', '/api/v1/read', 'bob', { tid, messageId: ids[2] });
    expect([read.status, read.body]).toEqual([200, true]);
    const caughtUp = await call('GET', `/api/v1/threads/${tid}/messages`, 'bob');
    expect([caughtUp.body.after, messageIds(caughtUp.body)]).toEqual([ids[2], ids.slice(3)]);
    // An older marker arriving late does not move it back.
    expect((await call('POST', '/api/v1/read', 'bob', { tid, messageId: ids[1] })).status).toBe(200);
    expect((await call('GET', `/api/v1/threads/${tid}/messages`, 'bob')).body.after).toBe(ids[2]);
    expect((await call('POST', '/api/v1/read', 'mallory', { tid, messageId: ids[1] })).status).toBe(404);
  });

  it('answers an ack once Kafka has it, as the token user', async () => {
    const ack = await call('POST', '/api/v1/ack', 'bob', {
      messageId: ids[3],
      channel: 'webpush',
      status: 'clicked',
      action: '/x',
    });
    expect([ack.status, ack.body]).toEqual([200, true]);
    // Without a wait: the call answered only once Kafka had the record.
    const acks = (await consume(h.config, 'acks')).map((record) => record.value);
    expect(acks.find((item) => item.type === 'clicked')).toMatchObject({
      uid: 'bob',
      messageId: ids[3],
      channel: 'webpush',
      action: '/x',
      source: 'http',
      ackId: `http:bob:${ids[3]}:webpush:clicked`,
    });
    // Keyed by message id, so the two sit on different partitions: compare without order. Mallory's read wrote nothing.
    expect(
      acks
        .filter((item) => item.type === 'read')
        .map((item) => `${item.uid} ${item.messageId}`)
        .sort(),
    ).toEqual([`bob ${ids[1]}`, `bob ${ids[2]}`].sort());
  });

  it('refuses invalid bodies with the issues, and counts the routes in the metrics', async () => {
    const invalid = await call('POST', '/api/v1/ack', 'bob', { messageId: ids[3], channel: 'ws', status: 'liked' });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ error: 'INVALID_REQUEST', issues: [{ path: ['status'] }] });
    expect(invalid.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = await (await h.request('/metrics')).text();
    expect(metrics).toMatch(/msgxc_http_requests_total\{method="POST",route="\/api\/v1\/ack",status="400"\} 1/);
    expect(metrics).toMatch(
      /msgxc_http_requests_total\{method="GET",route="\/api\/v1\/threads\/:tid\/messages",status="200"\} [1-9]/,
    );
  });
});
