import { types } from 'cassandra-driver';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createMessageStore, type StoredMessage } from '../../pipeline/store/message.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import type { Acknowledgement } from '../../schemas/types.generated.ts';
import { createFlowRouteDeps } from '../../stages/http-flow/deps.ts';
import { type CatchUpMessage, createFlowRoutes } from '../../stages/http-flow/index.ts';
import { createWorld, jwtSecret, readTopic, type World } from './support.ts';

/** The flow routes over the real message and thread stores and a real producer. */

let world: World;
let cassandra: ReturnType<typeof createCassandra>;
let deps: ReturnType<typeof createFlowRouteDeps>;
let app: ReturnType<typeof createFlowRoutes>;
const ids: string[] = [];

const token = (uid: string) =>
  new SignJWT({ roles: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uid)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(jwtSecret));

async function call(method: string, path: string, uid: string, body?: unknown) {
  const response = await app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${await token(uid)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function message(messageId: string, index: number): StoredMessage {
  return {
    messageId,
    requestId: `req-${index}`,
    kind: 'publish',
    tid: 't-room',
    audience: { kind: 'thread', tid: 't-room', uids: null, cohort: null, experimentId: null, variant: null },
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
  world = await createWorld();
  cassandra = createCassandra(world.config);
  const threads = createThreadStore(cassandra);
  await threads.createThread({ tid: 't-room', owner: 'alice' });
  await threads.subscribe('t-room', 'bob');
  const messages = createMessageStore(cassandra);
  for (let index = 0; index < 4; index++) {
    const id = types.TimeUuid.fromDate(new Date(1_767_225_600_000 + index * 1000)).toString();
    ids.push(id);
    await messages.saveMessage(message(id, index));
  }
  deps = createFlowRouteDeps(world.config);
  app = createFlowRoutes(deps);
});

afterAll(async () => {
  await deps?.close();
  await cassandra?.shutdown();
  await world?.drop();
});

const messageIds = (body: Record<string, unknown>) => (body.messages as CatchUpMessage[]).map((item) => item.id);

describe('flow routes on the real stack', () => {
  it('returns the messages after a marker in order, to readers of the thread only', async () => {
    const after = await call('GET', `/api/v1/threads/t-room/messages?after=${ids[0]}`, 'bob');
    expect(after.status).toBe(200);
    expect(messageIds(after.body)).toEqual(ids.slice(1));
    expect((after.body.messages as CatchUpMessage[])[0]).toMatchObject({
      msg: 'message 1',
      data: { n: 1 },
      sender: { id: 'alice' },
    });
    const page = await call('GET', `/api/v1/threads/t-room/messages?after=${ids[0]}&limit=2`, 'bob');
    expect([messageIds(page.body), page.body.more]).toEqual([ids.slice(1, 3), true]);
    expect((await call('GET', '/api/v1/threads/t-room/messages', 'mallory')).status).toBe(403);
    expect((await call('GET', '/api/v1/threads/t-none/messages', 'bob')).status).toBe(404);
  });

  it('keeps a read marker that catch-up starts from', async () => {
    const read = await call('POST', '/api/v1/read', 'bob', { tid: 't-room', messageId: ids[2] });
    expect([read.status, read.body]).toEqual([200, true]);
    const caughtUp = await call('GET', '/api/v1/threads/t-room/messages', 'bob');
    expect([caughtUp.body.after, messageIds(caughtUp.body)]).toEqual([ids[2], ids.slice(3)]);
    // An older marker arriving late does not move it back.
    await call('POST', '/api/v1/read', 'bob', { tid: 't-room', messageId: ids[1] });
    expect((await call('GET', '/api/v1/threads/t-room/messages', 'bob')).body.after).toBe(ids[2]);
  });

  it('answers an ack once Kafka has it, as the token user', async () => {
    const ack = await call('POST', '/api/v1/ack', 'bob', {
      messageId: ids[3],
      channel: 'webpush',
      status: 'clicked',
      action: '/x',
    });
    expect([ack.status, ack.body]).toEqual([200, true]);
    const acks = (await readTopic<Acknowledgement>(world.config, 'acks')).map((record) => record.value);
    expect(acks.find((item) => item.type === 'clicked')).toMatchObject({
      uid: 'bob',
      messageId: ids[3],
      channel: 'webpush',
      action: '/x',
      source: 'http',
    });
    // Keyed by message id, so the two sit on different partitions: compare without order.
    expect(
      acks
        .filter((item) => item.type === 'read')
        .map((item) => item.messageId)
        .sort(),
    ).toEqual([ids[1], ids[2]].sort());
  });

  it('refuses invalid bodies with the issues', async () => {
    const invalid = await call('POST', '/api/v1/ack', 'bob', { messageId: ids[3], channel: 'ws', status: 'liked' });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ error: 'INVALID_REQUEST', issues: [{ path: ['status'] }] });
  });
});
