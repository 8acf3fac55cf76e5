import { afterEach, describe, expect, it } from 'vitest';
import { wsBatch } from '../../bench/harness/batches.ts';
import {
  eventually,
  open,
  signToken,
  startTestGateway,
  type TestGateway,
  testConfig,
} from '../../test/support/gateway.ts';

/** Whether a message frame is still queued for the client once a ping has made the round trip behind it. */
async function messagesPending(client: Awaited<ReturnType<typeof open>>): Promise<boolean> {
  client.send({ type: 'ping' });
  await client.next('pong');
  return client.frames.some((frame) => frame.type === 'message');
}

describe('gateway delivery', () => {
  let running: TestGateway | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('writes each recipient message to every connection of that user, and to no one else', async () => {
    running = await startTestGateway();
    const url = running.gateway.url;
    const [phone, laptop, other] = await Promise.all([
      open(url, await signToken('alice')),
      open(url, await signToken('alice')),
      open(url, await signToken('bob')),
    ]);
    for (const client of [phone, laptop, other]) await client.next('welcome');

    const batch = wsBatch([{ uid: 'alice' }, { uid: 'nobody-here' }], { tid: 't1', data: '{"url":"/x"}' });
    const result = running.gateway.deliver(batch);
    expect(result.recipientCopies).toBe(2);

    for (const client of [phone, laptop]) {
      expect(await client.next('message')).toEqual({
        type: 'message',
        id: batch.messageId,
        tid: 't1',
        msg: 'hello',
        subject: 'subject',
        data: { url: '/x' },
        urgency: 3,
        sentAt: batch.createdAt,
        variant: null,
      });
    }
    // Users connected elsewhere are another instance's: no event here.
    expect(result.events).toEqual([
      expect.objectContaining({
        type: 'sent',
        uid: 'alice',
        messageId: batch.messageId,
        deliveryId: `${batch.messageId}:alice:ws`,
        channel: 'ws',
        source: 'gateway',
      }),
    ]);
    expect(await messagesPending(other)).toBe(false);
    for (const client of [phone, laptop, other]) client.socket.close();
  });

  it('gives each recipient the content of its experiment variant', async () => {
    running = await startTestGateway();
    const [a, b] = await Promise.all([
      open(running.gateway.url, await signToken('ann')),
      open(running.gateway.url, await signToken('ben')),
    ]);
    await a.next('welcome');
    await b.next('welcome');
    const batch = wsBatch(
      [
        { uid: 'ann', variant: 'control' },
        { uid: 'ben', variant: 'bold' },
      ],
      {
        experimentId: 'exp-1',
        variants: [
          { name: 'control', weight: 50, uids: null, subject: null, msg: null, channels: null },
          { name: 'bold', weight: 50, uids: null, subject: 'BIG NEWS', msg: 'HELLO', channels: null },
        ],
      },
    );
    const result = running.gateway.deliver(batch);
    expect(await a.next('message')).toMatchObject({ variant: 'control', msg: 'hello', subject: 'subject' });
    expect(await b.next('message')).toMatchObject({ variant: 'bold', msg: 'HELLO', subject: 'BIG NEWS' });
    expect(result.events.map((event) => [event.uid, event.variant, event.experimentId])).toEqual([
      ['ann', 'control', 'exp-1'],
      ['ben', 'bold', 'exp-1'],
    ]);
    a.socket.close();
    b.socket.close();
  });

  it('lets a user live-subscribe only to threads it may read, and delivers that thread to it', async () => {
    running = await startTestGateway();
    running.readers.set('viewer', new Set(['public']));
    const viewer = await open(running.gateway.url, await signToken('viewer'));
    await viewer.next('welcome');

    viewer.send({ type: 'subscribe', tid: 'secret', ref: 's1' });
    expect(await viewer.next('error')).toMatchObject({ code: 'FORBIDDEN', ref: 's1' });
    viewer.send({ type: 'subscribe', tid: 'public', ref: 's2' });
    expect(await viewer.next('subscribed')).toEqual({ type: 'subscribed', tid: 'public', ref: 's2' });

    running.gateway.deliver(wsBatch([{ uid: 'someone-else' }], { tid: 'secret' }));
    const visible = wsBatch([{ uid: 'someone-else' }], { tid: 'public' });
    const result = running.gateway.deliver(visible);
    expect(result.threadCopies).toBe(1);
    // Live copies are not recorded as deliveries: the viewer was not in the audience.
    expect(result.events).toEqual([]);
    expect(await viewer.next('message')).toMatchObject({ id: visible.messageId, tid: 'public' });
    expect(viewer.frames.some((frame) => frame.type === 'message')).toBe(false);

    viewer.send({ type: 'unsubscribe', tid: 'public' });
    await viewer.next('unsubscribed');
    expect(running.gateway.deliver(wsBatch([{ uid: 'x' }], { tid: 'public' })).threadCopies).toBe(0);
    viewer.socket.close();
  });

  it('lets admins subscribe to any thread and caps live subscriptions per connection', async () => {
    running = await startTestGateway({ config: testConfig({ MSGXC_WS_MAX_SUBSCRIPTIONS: '2' }) });
    const admin = await open(running.gateway.url, await signToken('root', { admin: true }));
    await admin.next('welcome');
    for (const tid of ['a', 'b']) {
      admin.send({ type: 'subscribe', tid });
      expect(await admin.next('subscribed')).toMatchObject({ tid });
    }
    admin.send({ type: 'subscribe', tid: 'c' });
    expect(await admin.next('error')).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS' });
    admin.socket.close();
  });

  it('writes a message once to a connection that is both a recipient and a live subscriber', async () => {
    running = await startTestGateway();
    running.readers.set('alice', new Set(['t1']));
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    client.send({ type: 'subscribe', tid: 't1' });
    await client.next('subscribed');
    const batch = wsBatch([{ uid: 'alice' }], { tid: 't1' });
    const first = running.gateway.deliver(batch);
    // The same batch read again (a redelivery) is recognised by its message id.
    const again = running.gateway.deliver(batch);
    expect([first.recipientCopies, first.threadCopies, again.recipientCopies]).toEqual([1, 0, 0]);
    expect(again.events.map((event) => event.eventId)).toEqual(first.events.map((event) => event.eventId));
    await client.next('message');
    expect(await messagesPending(client)).toBe(false);
    client.socket.close();
  });

  it('writes a uid listed twice in one batch once', async () => {
    running = await startTestGateway();
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    const result = running.gateway.deliver(wsBatch([{ uid: 'alice' }, { uid: 'alice' }]));
    expect(result.recipientCopies).toBe(1);
    await client.next('message');
    expect(await messagesPending(client)).toBe(false);
    client.socket.close();
  });

  it('on a batch read again, skips the sockets that had it and writes to one connected since', async () => {
    running = await startTestGateway();
    const alice = await open(running.gateway.url, await signToken('alice'));
    await alice.next('welcome');
    const batch = wsBatch([{ uid: 'alice' }, { uid: 'bob' }]);
    expect(running.gateway.deliver(batch).recipientCopies).toBe(1);
    const bob = await open(running.gateway.url, await signToken('bob'));
    await bob.next('welcome');
    const again = running.gateway.deliver(batch);
    expect(again.recipientCopies).toBe(1);
    expect(again.events.map((event) => event.uid).sort()).toEqual(['alice', 'bob']);
    expect((await bob.next('message')).id).toBe(batch.messageId);
    // What a closed socket was written is forgotten with it: alice's next socket gets the message.
    alice.socket.close();
    await eventually(() => running?.gateway.registry.size === 1);
    const aliceAgain = await open(running.gateway.url, await signToken('alice'));
    await aliceAgain.next('welcome');
    expect(running.gateway.deliver(batch).recipientCopies).toBe(1);
    expect((await aliceAgain.next('message')).id).toBe(batch.messageId);
    aliceAgain.socket.close();
    bob.socket.close();
  });

  it('does not deliver an expired batch and records it as expired', async () => {
    running = await startTestGateway();
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    const result = running.gateway.deliver(wsBatch([{ uid: 'alice' }], { expiresAt: Date.now() - 1000 }));
    expect(result.recipientCopies).toBe(0);
    expect(result.events).toEqual([expect.objectContaining({ type: 'expired', reason: 'EXPIRED', uid: 'alice' })]);
    client.socket.close();
  });

  it('forgets a closed connection', async () => {
    running = await startTestGateway();
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    client.socket.close();
    await eventually(() => running?.gateway.registry.size === 0);
    expect(running.gateway.deliver(wsBatch([{ uid: 'alice' }])).events).toEqual([]);
  });
});
