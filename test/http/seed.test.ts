import { types } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import type { StoredMessage } from '../../schemas/index.ts';
import {
  adminToken,
  androidToken,
  consume,
  createHarness,
  dropTestData,
  type Harness,
  iosToken,
  token,
  webPush,
} from './support.ts';

/** Every endpoint's happy path against Kafka, the registry and Cassandra, reading back what each wrote. */

let h: Harness;
const requestIds: Record<string, string> = {};

beforeAll(async () => {
  h = await createHarness();
});

afterAll(async () => {
  await h?.close();
  if (h) await dropTestData(h.config);
});

async function ok(response: Response, status = 200): Promise<unknown> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('x-request-id')).toMatch(/^[\w\-=.]+$/);
  return JSON.parse(text);
}

async function createThread(owner: string, body: Record<string, unknown>): Promise<string> {
  const thread = (await ok(
    await h.request('/api/v1/threads', { json: body, token: await token({ sub: owner }) }),
    201,
  )) as { tid: string };
  return thread.tid;
}

describe('seed API, happy paths', () => {
  it('answers ping', async () => {
    expect(await ok(await h.request('/api/v1/ping'))).toBe(true);
  });

  it('creates, reads and updates a thread owned by the caller', async () => {
    const owner = await token({ sub: 'owner-1' });
    const created = (await ok(
      await h.request('/api/v1/threads', {
        token: owner,
        json: {
          name: 'News',
          alias: `news-${Date.now()}`,
          channelTypes: ['webpush', 'ws'],
          urgency: 'low',
          openSubscribe: true,
          admins: ['admin-of-news'],
          publishers: ['writer-1'],
          experiment: {
            id: 'exp-1',
            variants: [
              { name: 'control', weight: 50 },
              { name: 'b', weight: 50, msg: 'B!' },
            ],
          },
        },
      }),
      201,
    )) as Record<string, unknown>;
    expect(created).toMatchObject({
      owner: 'owner-1',
      name: 'News',
      urgency: 2,
      openSubscribe: true,
      openPublish: false,
      channelTypes: ['webpush', 'ws'],
      admins: ['admin-of-news'],
      publishers: ['writer-1'],
    });
    expect((created.experiment as { variants: unknown[] }).variants).toHaveLength(2);
    const tid = created.tid as string;

    expect(
      await ok(await h.request(`/api/v1/threads/${tid}`, { token: await token({ sub: 'someone' }) })),
    ).toMatchObject({ tid, name: 'News' });
    const updated = await ok(
      await h.request(`/api/v1/threads/${tid}`, {
        method: 'PATCH',
        token: await token({ sub: 'admin-of-news' }),
        json: { name: 'Daily news', openPublish: true, experiment: null },
      }),
    );
    expect(updated).toMatchObject({ tid, name: 'Daily news', openPublish: true, experiment: null, owner: 'owner-1' });
    const stored = await createThreadStore(createCassandra(h.config)).getThread(tid);
    expect(stored).toMatchObject({ name: 'Daily news', openPublish: true, urgency: 2 });
  });

  it('subscribes and unsubscribes durably and emits the audience changes', async () => {
    const tid = await createThread('owner-2', { name: 'Open', openSubscribe: true });
    const subscriber = await token({ sub: 'sub-1' });
    expect(await ok(await h.request('/api/v1/subscribe', { token: subscriber, json: { tid } }))).toBe(true);
    expect(await h.deps.threads.isSubscribed(tid, 'sub-1')).toBe(true);
    // Subscribing twice is harmless.
    expect(await ok(await h.request('/api/v1/subscribe', { token: subscriber, json: { tid } }))).toBe(true);
    expect(await ok(await h.request('/api/v1/unsubscribe', { token: subscriber, json: { tid } }))).toBe(true);
    expect(await h.deps.threads.isSubscribed(tid, 'sub-1')).toBe(false);

    const changes = await consume(h.config, 'audience', (records) =>
      records.some((record) => record.value.type === 'unsubscribe' && record.value.tid === tid),
    );
    const mine = changes.filter((record) => record.value.tid === tid).map((record) => record.value);
    expect(mine.map((change) => change.type)).toEqual(['subscribe', 'subscribe', 'unsubscribe']);
    expect(mine[0]).toMatchObject({ uid: 'sub-1', source: 'http' });
    expect(changes.find((record) => record.value.tid === tid)?.key).toBe('sub-1');
  });

  it('enlists the three device shapes, newest first, and re-enlisting is idempotent', async () => {
    const user = await token({ sub: 'device-user' });
    const ios = iosToken();
    const push = webPush();
    for (const body of [{ os: 'ios', token: ios }, { os: 'android', token: androidToken() }, push]) {
      expect(await ok(await h.request('/api/v1/enlist', { token: user, json: body }))).toBe(true);
    }
    const listed = (await ok(await h.request('/api/v1/devices', { token: user }))) as { channel: string }[];
    expect(listed.map((device) => device.channel)).toEqual(['webpush', 'fcm', 'apns']);
    expect(await ok(await h.request('/api/v1/enlist', { token: user, json: { os: 'ios', token: ios } }))).toBe(true);
    const again = (await ok(await h.request('/api/v1/devices', { token: user }))) as {
      channel: string;
      id: string;
      endpointOrigin: string | null;
    }[];
    expect(again.map((device) => device.channel)).toEqual(['apns', 'webpush', 'fcm']);
    expect(again[1]?.endpointOrigin).toBe('https://127.0.0.1:4443');
    expect(JSON.stringify(again)).not.toContain(ios);

    const changes = await consume(
      h.config,
      'audience',
      (records) => records.filter((record) => record.value.uid === 'device-user').length >= 4,
    );
    const enlisted = changes.filter((record) => record.value.uid === 'device-user').map((record) => record.value);
    expect(enlisted.map((change) => change.type)).toEqual(Array(4).fill('enlist_device'));
    expect(enlisted[2]?.device).toMatchObject({
      channel: 'webpush',
      subscription: { endpoint: push.endpoint, p256dh: push.keys.p256dh, auth: push.keys.auth },
    });

    const apns = again[0]!;
    expect(
      await ok(await h.request(`/api/v1/devices/${apns.channel}/${apns.id}`, { method: 'DELETE', token: user })),
    ).toBe(true);
    const after = (await ok(await h.request('/api/v1/devices', { token: user }))) as { channel: string }[];
    expect(after.map((device) => device.channel)).toEqual(['webpush', 'fcm']);
    const removal = await consume(h.config, 'audience', (records) =>
      records.some((record) => record.value.type === 'remove_device' && record.value.uid === 'device-user'),
    );
    expect(removal.find((record) => record.value.type === 'remove_device')?.value.device).toMatchObject({
      channel: 'apns',
      id: apns.id,
    });
  });

  it('moves a token that changes hands and tells the index about the previous owner', async () => {
    const shared = iosToken();
    for (const sub of ['first-holder', 'second-holder']) {
      const response = await h.request('/api/v1/enlist', {
        token: await token({ sub }),
        json: { os: 'ios', token: shared },
      });
      expect(await ok(response)).toBe(true);
    }
    expect(await ok(await h.request('/api/v1/devices', { token: await token({ sub: 'first-holder' }) }))).toEqual([]);
    const changes = (await consume(h.config, 'audience')).map((record) => record.value);
    const holders = changes.filter((change) => String(change.uid).endsWith('-holder'));
    // Keyed by uid, so the two users' changes sit on different partitions: compare without order.
    expect(holders.map((change) => [change.uid, change.type]).sort()).toEqual([
      ['first-holder', 'enlist_device'],
      ['first-holder', 'remove_device'],
      ['second-holder', 'enlist_device'],
    ]);
  });

  it('stores channel preferences including "~"', async () => {
    const user = await token({ sub: 'pref-user' });
    const tid = await createThread('pref-owner', { name: 'Prefs' });
    expect(
      await ok(await h.request('/api/v1/preferences', { method: 'PUT', token: user, json: { channels: '~' } })),
    ).toBe(true);
    expect(
      await ok(
        await h.request('/api/v1/preferences', {
          method: 'PUT',
          token: user,
          json: { tid, channels: ['email', 'webpush'] },
        }),
      ),
    ).toBe(true);
    expect(await ok(await h.request('/api/v1/preferences', { token: user }))).toEqual({
      channels: '~',
      threads: { [tid]: ['email', 'webpush'] },
    });
    expect(
      await ok(await h.request('/api/v1/preferences', { method: 'PUT', token: user, json: { channels: [] } })),
    ).toBe(true);
    expect(await ok(await h.request('/api/v1/preferences', { token: user }))).toMatchObject({ channels: null });
    const changes = await consume(
      h.config,
      'audience',
      (records) => records.filter((record) => record.value.uid === 'pref-user').length >= 3,
    );
    const preferences = changes.filter((record) => record.value.uid === 'pref-user').map((r) => r.value.preferences);
    expect(preferences).toEqual([
      { tid: null, channels: [], optOut: true },
      { tid, channels: ['email', 'webpush'], optOut: false },
      { tid: null, channels: [], optOut: false },
    ]);
  });

  it('publishes, broadcasts, multicasts and sends, answering after Kafka acknowledged', async () => {
    const tid = await createThread('pub-owner', { name: 'Pub', publishers: ['writer'] });
    const writer = await token({ sub: 'writer' });
    const admin = await adminToken();
    // Within the window the ingest contract allows (a year ahead at most), so prioritize will hold it.
    const later = Date.now() + 30 * 86_400_000;
    const calls: [string, string, unknown][] = [
      ['publish', writer, { tid, msg: 'Hello subscribers', opts: { urgency: 'high', icon: '/i.png', data: { a: 1 } } }],
      ['broadcast', admin, { msg: 'Hello everyone', opts: { subject: 'News', ttl: 3600, channels: ['webpush'] } }],
      ['multicast', admin, { msg: 'Hello some', uids: ['u1', 'u2'], opts: { scheduledAt: later } }],
      ['send', admin, { msg: 'Hello you', uid: 'u3', opts: { collapseKey: 'c1', experimentId: 'exp-9' } }],
    ];
    for (const [path, bearer, body] of calls) {
      const response = await h.request(`/api/v1/${path}`, {
        token: bearer,
        json: body,
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      });
      expect(await ok(response)).toBe(true);
      requestIds[path] = response.headers.get('msgxc-request-id')!;
    }
    const ids = Object.values(requestIds);
    const records = await consume(h.config, 'ingest', (seen) =>
      ids.every((id) => seen.some((record) => record.value.requestId === id)),
    );
    const byKind = Object.fromEntries(records.map((record) => [record.value.kind as string, record]));
    expect(byKind.publish?.value).toMatchObject({
      requestId: requestIds.publish,
      tid,
      msg: 'Hello subscribers',
      urgency: 4,
      opts: JSON.stringify({ icon: '/i.png' }),
      data: JSON.stringify({ a: 1 }),
      sender: { kind: 'user', id: 'writer' },
      trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: null },
    });
    expect(byKind.publish?.key).toBe(requestIds.publish);
    expect(byKind.broadcast?.value).toMatchObject({
      subject: 'News',
      ttlSeconds: 3600,
      channels: ['webpush'],
      sender: { kind: 'admin', id: 'admin-1' },
    });
    expect(byKind.multicast?.value).toMatchObject({ uids: ['u1', 'u2'], scheduledAt: later });
    expect(byKind.send?.value).toMatchObject({ uid: 'u3', collapseKey: 'c1', experimentId: 'exp-9' });
    expect(typeof byKind.send?.value.createdAt).toBe('number');
  });

  it('honours Idempotency-Key: same answer, one message, another body refused', async () => {
    const admin = await adminToken();
    const key = `key-${Date.now()}`;
    const send = (msg: string) =>
      h.request('/api/v1/send', { token: admin, json: { msg, uid: 'idem-user' }, headers: { 'idempotency-key': key } });
    const first = await send('only once');
    expect(await ok(first)).toBe(true);
    const requestId = first.headers.get('msgxc-request-id')!;
    const second = await send('only once');
    expect(await ok(second)).toBe(true);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await send('something else');
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ error: 'IDEMPOTENCY_KEY_REUSED' });
    // Another caller's identical key is theirs.
    const elsewhere = await h.request('/api/v1/send', {
      token: await adminToken('admin-2'),
      json: { msg: 'only once', uid: 'idem-user' },
      headers: { 'idempotency-key': key },
    });
    expect(elsewhere.headers.get('idempotent-replayed')).toBeNull();
    expect(await ok(elsewhere)).toBe(true);

    // Every answer came after Kafka's acknowledgement, so the topic as it is now holds all there is.
    const records = await consume(h.config, 'ingest');
    const sent = records.filter((record) => record.value.uid === 'idem-user' && record.value.msg === 'only once');
    expect(sent.map((record) => record.value.requestId).filter((id) => id === requestId)).toHaveLength(1);
    expect(sent).toHaveLength(2);
  });

  it("answers a message's delivery summary to its sender and the thread's managers only", async () => {
    const tid = await createThread('summary-owner', { name: 'Summary' });
    const messageId = types.TimeUuid.now().toString();
    const store = createMessageStore(createCassandra(h.config));
    const message: StoredMessage = {
      messageId,
      requestId: 'r-summary',
      kind: 'publish',
      tid,
      audience: { kind: 'thread', tid, uids: null, cohort: null, experimentId: null, variant: null },
      sender: { kind: 'user', id: 'summary-sender' },
      subject: null,
      msg: 'hi',
      opts: null,
      data: null,
      urgency: 3,
      channels: ['webpush'],
      collapseKey: null,
      experimentId: null,
      createdAt: Date.now(),
      scheduledAt: null,
      expiresAt: null,
      storedAt: Date.now(),
      trace: null,
    };
    await store.saveMessage(message);
    // One at a time, as the delivery stages record them.
    await store.recordDelivery({ messageId, uid: 'r1', channel: 'webpush', state: 'sent', at: Date.now() });
    await store.recordDelivery({ messageId, uid: 'r1', channel: 'webpush', state: 'delivered', at: Date.now() });
    await store.recordDelivery({
      messageId,
      uid: 'r2',
      channel: 'webpush',
      state: 'failed',
      at: Date.now(),
      errorCode: 'GONE',
    });
    for (const sub of ['summary-sender', 'summary-owner']) {
      const summary = await ok(await h.request(`/api/v1/messages/${messageId}`, { token: await token({ sub }) }));
      expect(summary).toMatchObject({
        messageId,
        tid,
        sender: 'summary-sender',
        recipients: 2,
        states: { sent: 1, delivered: 1, failed: 1 },
        channels: { webpush: { sent: 1, delivered: 1, failed: 1 } },
      });
    }
    const stranger = await h.request(`/api/v1/messages/${messageId}`, { token: await token({ sub: 'stranger' }) });
    expect(stranger.status).toBe(404);
    const unknown = await h.request(`/api/v1/messages/${types.TimeUuid.now().toString()}`, {
      token: await adminToken(),
    });
    expect(unknown.status).toBe(404);
  });
});
