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
import { parseClientFrame } from './protocol.ts';

describe('parseClientFrame', () => {
  it('accepts every v1 client frame and ignores unknown fields', () => {
    const frames = [
      { type: 'ack', messageId: 'm1', status: 'opened' },
      { type: 'checkin' },
      { type: 'read', tid: 't1', messageId: 'm1' },
      { type: 'subscribe', tid: 't1', ref: 'r1' },
      { type: 'unsubscribe', tid: 't1' },
      { type: 'ping', future: true },
    ];
    for (const frame of frames) expect(parseClientFrame(JSON.stringify(frame)).ok).toBe(true);
    const ping = parseClientFrame('{"type":"ping","future":true}');
    expect(ping.ok && ping.frame).toEqual({ type: 'ping' });
  });

  it('names what is wrong with a machine-readable code', () => {
    const cases: [string, string][] = [
      ['{', 'BAD_JSON'],
      ['[1,2]', 'BAD_FRAME'],
      ['"ping"', 'BAD_FRAME'],
      ['null', 'BAD_FRAME'],
      ['{"kind":"ping"}', 'BAD_FRAME'],
      ['{"type":"teleport"}', 'UNKNOWN_TYPE'],
      ['{"type":"ack","messageId":"m1","status":"loved"}', 'BAD_FRAME'],
      ['{"type":"ack","status":"opened"}', 'BAD_FRAME'],
      [`{"type":"subscribe","tid":"${'x'.repeat(500)}"}`, 'BAD_FRAME'],
      ['{"type":"read","tid":"t1"}', 'BAD_FRAME'],
    ];
    for (const [text, code] of cases) {
      const parsed = parseClientFrame(text);
      expect(parsed.ok ? 'ok' : parsed.code, text).toBe(code);
    }
  });

  it('echoes the ref of a frame it refuses', () => {
    const parsed = parseClientFrame('{"type":"subscribe","ref":"abc"}');
    expect(parsed.ok ? undefined : parsed.ref).toBe('abc');
  });
});

describe('gateway frames', () => {
  let running: TestGateway | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('answers ping with pong and each invalid frame with an error frame, without closing', async () => {
    running = await startTestGateway();
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    client.send({ type: 'ping', ref: 'p1' });
    expect(await client.next('pong')).toEqual({ type: 'pong', ref: 'p1' });
    client.send('this is not json');
    expect(await client.next('error')).toMatchObject({ code: 'BAD_JSON' });
    client.send({ type: 'teleport', ref: 'x' });
    expect(await client.next('error')).toMatchObject({ code: 'UNKNOWN_TYPE', ref: 'x' });
    client.send({ type: 'ack', messageId: 'm1', status: 'loved' });
    expect(await client.next('error')).toMatchObject({ code: 'BAD_FRAME' });
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.next('error')).toMatchObject({ code: 'BINARY_UNSUPPORTED' });
    client.send({ type: 'ping' });
    expect(await client.next('pong')).toEqual({ type: 'pong' });
    client.socket.close();
  });

  it('closes a client that keeps sending garbage with 1008', async () => {
    running = await startTestGateway({ config: testConfig({ MSGXC_WS_MAX_INVALID_FRAMES: '3' }) });
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    for (let index = 0; index < 6; index++) client.send(`garbage ${index}`);
    expect(await client.closed).toEqual({ code: 1008, reason: 'too many invalid frames' });
    expect(client.frames.filter((frame) => frame.type === 'error')).toHaveLength(3);
    await eventually(() => running?.gateway.registry.size === 0);
    const disconnect = running.records.find(
      (record) => record.topic === 'checkins' && record.value.type === 'disconnect',
    );
    expect(disconnect?.value).toMatchObject({ uid: 'alice', reason: '1008 too many invalid frames' });
  });

  it('closes a socket that sends a frame above maxPayload with 1009', async () => {
    running = await startTestGateway({ config: testConfig({ MSGXC_WS_MAX_PAYLOAD: '1024' }) });
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    client.send({ type: 'ping', padding: 'x'.repeat(2048) });
    expect((await client.closed).code).toBe(1009);
    await eventually(() => running?.gateway.registry.size === 0);
  });

  it('turns ack frames into acknowledgements carrying the delivery they answer', async () => {
    running = await startTestGateway();
    const client = await open(running.gateway.url, await signToken('alice'));
    const welcome = await client.next('welcome');
    const batch = wsBatch([{ uid: 'alice' }], { tid: 'thread-1' });
    running.gateway.deliver(batch);
    const message = await client.next('message');
    client.send({ type: 'ack', messageId: message.id, status: 'delivered' });
    client.send({ type: 'ack', messageId: message.id, status: 'clicked', action: 'https://example.com/x', at: 1234 });
    await eventually(() => running?.records.filter((record) => record.topic === 'acks').length === 2);
    const acks = running.records.filter((record) => record.topic === 'acks').map((record) => record.value);
    expect(acks[0]).toMatchObject({
      type: 'delivered',
      messageId: batch.messageId,
      uid: 'alice',
      tid: 'thread-1',
      channel: 'ws',
      deliveryId: `${batch.messageId}:alice:ws`,
      sessionId: welcome.session,
      source: 'ws',
    });
    expect(acks[1]).toMatchObject({ type: 'clicked', action: 'https://example.com/x', at: 1234 });
    client.socket.close();
  });

  it('records read markers only for threads the user may read', async () => {
    running = await startTestGateway();
    running.readers.set('alice', new Set(['open-thread']));
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    client.send({ type: 'read', tid: 'closed-thread', messageId: 'm1', ref: 'r1' });
    expect(await client.next('error')).toMatchObject({ code: 'FORBIDDEN', ref: 'r1' });
    client.send({ type: 'read', tid: 'open-thread', messageId: 'm2' });
    await eventually(() => running?.records.some((record) => record.topic === 'acks') ?? false);
    const acks = running.records.filter((record) => record.topic === 'acks').map((record) => record.value);
    expect(acks).toEqual([expect.objectContaining({ type: 'read', tid: 'open-thread', messageId: 'm2' })]);
    client.socket.close();
  });

  it('tells the client when an ack could not be recorded', async () => {
    running = await startTestGateway({
      emit: async (records) => {
        if (records.some((record) => record.topic === 'acks')) throw new Error('kafka is down');
      },
    });
    const client = await open(running.gateway.url, await signToken('alice'));
    await client.next('welcome');
    client.send({ type: 'ack', messageId: 'm1', status: 'opened', ref: 'a1' });
    expect(await client.next('error')).toMatchObject({ code: 'UNAVAILABLE', ref: 'a1' });
    client.send({ type: 'ping' });
    expect(await client.next('pong')).toEqual({ type: 'pong' });
    client.socket.close();
  });
});
