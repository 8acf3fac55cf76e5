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

describe('gateway liveness and limits', () => {
  let running: TestGateway | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('terminates a socket that stops answering pings, and keeps one that answers', async () => {
    running = await startTestGateway({ config: testConfig({ MSGXC_WS_HEARTBEAT_MS: '100' }) });
    const dead = await open(running.gateway.url, await signToken('ghost'), { autoPong: false });
    const live = await open(running.gateway.url, await signToken('alice'));
    await dead.next('welcome');
    await live.next('welcome');

    // Terminated without a close frame, the client sees an abnormal closure.
    expect((await dead.closed).code).toBe(1006);
    await eventually(() => running?.gateway.registry.byUid('ghost') === undefined);
    expect(running.gateway.registry.byUid('alice')?.size).toBe(1);

    const checkIns = running.records.filter((record) => record.topic === 'checkins').map((record) => record.value);
    const ghost = checkIns.filter((checkIn) => checkIn.uid === 'ghost').map((checkIn) => checkIn.type);
    expect(ghost[0]).toBe('connect');
    expect(ghost.at(-1)).toBe('disconnect');
    expect(checkIns.find((checkIn) => checkIn.uid === 'ghost' && checkIn.type === 'disconnect')).toMatchObject({
      reason: 'heartbeat timeout',
    });
    await eventually(() =>
      running!.records.some(
        (record) => record.topic === 'checkins' && record.value.uid === 'alice' && record.value.type === 'heartbeat',
      ),
    );
    live.socket.close();
  });

  it('records a client checkin frame as a heartbeat of its session', async () => {
    running = await startTestGateway();
    const client = await open(running.gateway.url, await signToken('alice'));
    const welcome = await client.next('welcome');
    client.send({ type: 'checkin' });
    await eventually(() => running!.records.some((record) => record.value.type === 'heartbeat'));
    const heartbeat = running.records.find((record) => record.value.type === 'heartbeat');
    expect(heartbeat).toMatchObject({ topic: 'checkins', key: welcome.session });
    client.socket.close();
  });

  it('closes a slow consumer with 4008 instead of buffering past the limit', async () => {
    running = await startTestGateway({ config: testConfig({ MSGXC_WS_MAX_BUFFERED_BYTES: '65536' }) });
    const slow = await open(running.gateway.url, await signToken('slow'));
    const fast = await open(running.gateway.url, await signToken('fast'));
    await slow.next('welcome');
    await fast.next('welcome');
    slow.socket.pause();

    // Socket and kernel buffers absorb some megabytes before bytes stay in the process: keep writing
    // ~8 KiB messages until the gateway gives up on the reader.
    const data = JSON.stringify({ blob: 'x'.repeat(8192) });
    let written = 0;
    while (
      running.gateway.registry.byUid('slow') &&
      !running.gateway.registry.byUid('slow')?.values().next().value?.closing
    ) {
      const result = running.gateway.deliver(wsBatch([{ uid: 'slow' }], { data }));
      written += result.recipientCopies;
      expect(written).toBeLessThan(100_000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const connection = running.gateway.registry.byUid('slow')?.values().next().value;
    expect(connection?.socket.bufferedAmount).toBeLessThanOrEqual(65_536);

    // Another user's socket is unaffected.
    running.gateway.deliver(wsBatch([{ uid: 'fast' }]));
    expect(await fast.next('message')).toMatchObject({ msg: 'hello' });

    slow.socket.resume();
    expect(await slow.closed).toEqual({ code: 4008, reason: 'slow consumer' });
    expect(slow.frames.filter((frame) => frame.type === 'message')).toHaveLength(written);
    const closes = await running.metrics.getSingleMetric('msgxc_ws_closes_total')?.get();
    expect(closes?.values).toContainEqual(expect.objectContaining({ labels: { reason: 'slow_consumer' }, value: 1 }));
    fast.socket.close();
  });

  it('closes a connection whose token expires with 4001', async () => {
    running = await startTestGateway({ config: testConfig({ MSGXC_WS_HEARTBEAT_MS: '100' }) });
    const client = await open(running.gateway.url, await signToken('brief', { expiresInSeconds: 1 }));
    await client.next('welcome');
    expect(await client.closed).toEqual({ code: 4001, reason: 'token expired' });
  });

  it('closes every connection with 1001 on shutdown and counts connections in the gauge', async () => {
    running = await startTestGateway();
    const clients = await Promise.all(
      ['a', 'b', 'c'].map(async (uid) => open(running!.gateway.url, await signToken(uid))),
    );
    for (const client of clients) await client.next('welcome');
    const gauge = await running.metrics.getSingleMetric('msgxc_ws_connections')?.get();
    expect(gauge?.values[0]?.value).toBe(3);
    await running.close();
    for (const client of clients) expect((await client.closed).code).toBe(1001);
    const after = await running.metrics.getSingleMetric('msgxc_ws_connections')?.get();
    expect(after?.values[0]?.value).toBe(0);
    running = undefined;
  });
});
