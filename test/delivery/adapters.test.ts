import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../pipeline/delivery/contract.ts';
import { createEndpointGuard } from '../../pipeline/net/ssrf.ts';
import { buildDeliveryBatch, type DeliveryBatch, type Device } from '../../schemas/types.generated.ts';
import { type ApnsServer, startApnsServer } from '../../stack/providers/apns.ts';
import { certificateFile } from '../../stack/providers/common.ts';
import { localCredentials } from '../../stack/providers/credentials.ts';
import { type FcmServer, fcmError, startFcmServer } from '../../stack/providers/fcm.ts';
import { startWebPushServer, type WebPushServer } from '../../stack/providers/webpush.ts';
import { createApnsAdapter } from '../../stages/deliver-apns/adapter.ts';
import { apnsIdOf } from '../../stages/deliver-apns/notification.ts';
import { createFcmAdapter } from '../../stages/deliver-fcm/sender.ts';
import { createWebPushAdapter } from '../../stages/deliver-webpush/adapter.ts';
import { VapidCache } from '../../stages/deliver-webpush/vapid.ts';

/**
 * Each adapter with its real SDK (web-push, @parse/node-apn, google-auth-library + node:http2) against the
 * local provider server that speaks the wire protocol and checks what it receives.
 */
const credentials = localCredentials();
let webpushServer: WebPushServer;
let apnsServer: ApnsServer;
let fcmServer: FcmServer;

beforeAll(async () => {
  webpushServer = await startWebPushServer();
  apnsServer = await startApnsServer({ ...credentials.apns });
  fcmServer = await startFcmServer({ ...credentials.fcm });
});
afterAll(async () => {
  await Promise.all([webpushServer.close(), apnsServer.close(), fcmServer.close()]);
});

function messageTo(
  device: Device,
  fields: Partial<DeliveryBatch> = {},
  deliveryId = `m1:u1:${device.id}`,
): OutgoingMessage {
  const batch = buildDeliveryBatch({
    batchId: 'b1',
    channel: device.channel,
    messageId: 'msg-1',
    urgency: 4,
    subject: 'Hello',
    msg: 'World',
    recipients: [],
    sender: { kind: 'service', id: 'test' } as DeliveryBatch['sender'],
    createdAt: Date.now(),
    batchedAt: Date.now(),
    ...fields,
  });
  const recipient = { deliveryId, uid: 'u1', device, variant: null, locale: null };
  return {
    batch: { ...batch, recipients: [recipient] },
    recipient,
    subject: batch.subject,
    text: batch.msg,
    attempt: 0,
  };
}

const device = (channel: Device['channel'], id: string, extra: Partial<Device>): Device => ({
  channel,
  id,
  token: null,
  subscription: null,
  address: null,
  platform: null,
  ...extra,
});

describe('Web Push through web-push', () => {
  const adapter = () =>
    createWebPushAdapter({
      vapid: new VapidCache(credentials.vapid),
      guard: createEndpointGuard({ allowedHosts: [`127.0.0.1:${webpushServer.port}`] }),
      concurrency: 4,
      caFile: certificateFile,
    });

  it('delivers an aes128gcm payload the push service decrypts, with Urgency, TTL and Topic from the message', async () => {
    const subscription = webpushServer.subscribe();
    const sender = adapter();
    const expiresAt = Date.now() + 600_000;
    const message = messageTo(
      device('webpush', 'w1', {
        subscription: { endpoint: subscription.endpoint, expirationTime: null, ...subscription.keys },
      }),
      { urgency: 1, expiresAt, collapseKey: 'thread:42 — a long collapse key that needs hashing' },
    );
    const [outcome] = await sender.send([message], new AbortController().signal);
    await sender.close();
    expect(webpushServer.refused).toEqual([]);
    expect(outcome).toMatchObject({ status: 'sent', providerCode: '201' });
    const received = webpushServer.received.at(-1)!;
    expect(received.payload).toMatchObject({
      messageId: 'msg-1',
      deliveryId: message.recipient.deliveryId,
      title: 'Hello',
      body: 'World',
    });
    expect(received.headers.urgency).toBe('very-low');
    expect(Number(received.headers.ttl)).toBeGreaterThan(590);
    expect(Number(received.headers.ttl)).toBeLessThanOrEqual(600);
    expect(received.headers.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(received.headers['content-encoding']).toBe('aes128gcm');
  });

  it('signs one VAPID JWT per push-service origin, not one per message', async () => {
    const vapid = new VapidCache(credentials.vapid);
    const sender = createWebPushAdapter({
      vapid,
      guard: createEndpointGuard({ allowedHosts: [`127.0.0.1:${webpushServer.port}`] }),
      concurrency: 4,
      caFile: certificateFile,
    });
    const messages = Array.from({ length: 5 }, (_, index) => {
      const subscription = webpushServer.subscribe();
      return messageTo(
        device('webpush', `v${index}`, {
          subscription: { endpoint: subscription.endpoint, expirationTime: null, ...subscription.keys },
        }),
      );
    });
    const outcomes = await sender.send(messages, new AbortController().signal);
    await sender.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect(vapid.signatures).toBe(1);
  });

  it('a gone subscription is rejected for pruning; an oversized payload is rejected before any request', async () => {
    const subscription = webpushServer.subscribe();
    webpushServer.expire(subscription.endpoint);
    const sender = adapter();
    const target = device('webpush', 'w2', {
      subscription: { endpoint: subscription.endpoint, expirationTime: null, ...subscription.keys },
    });
    const before = webpushServer.received.length;
    const [gone, large] = await sender.send(
      [messageTo(target), messageTo(target, { msg: 'x'.repeat(4_000) }, 'm1:u1:large')],
      new AbortController().signal,
    );
    await sender.close();
    expect(gone).toMatchObject({ status: 'rejected', providerCode: '410', prune: true });
    expect(large).toMatchObject({ status: 'rejected', providerCode: 'PAYLOAD_TOO_LARGE' });
    expect(webpushServer.received.length).toBe(before);
  });

  it('refuses an endpoint on a private address unless allowed (SSRF), without a request', async () => {
    const sender = createWebPushAdapter({
      vapid: new VapidCache(credentials.vapid),
      guard: createEndpointGuard(),
      concurrency: 1,
      caFile: certificateFile,
    });
    const subscription = webpushServer.subscribe();
    const [outcome] = await sender.send(
      [
        messageTo(
          device('webpush', 'w3', {
            subscription: { endpoint: subscription.endpoint, expirationTime: null, ...subscription.keys },
          }),
        ),
      ],
      new AbortController().signal,
    );
    await sender.close();
    expect(outcome).toMatchObject({ status: 'rejected', providerCode: 'UNSAFE_ENDPOINT' });
  });
});

describe('APNs through @parse/node-apn', () => {
  const adapter = () =>
    createApnsAdapter({
      ...credentials.apns,
      production: false,
      address: { host: '127.0.0.1', port: apnsServer.port },
      caFile: certificateFile,
      requestTimeoutMs: 5_000,
    });

  it('sends with the provider JWT and the headers urgency and expiry imply; apns-id derives from the delivery id', async () => {
    const sender = adapter();
    const expiresAt = Date.now() + 3_600_000;
    const urgent = messageTo(device('apns', 'a1', { token: 'aa11' }), {
      urgency: 4,
      expiresAt,
      collapseKey: 'thread-7',
      tid: 't7',
    });
    const bulk = messageTo(device('apns', 'a2', { token: 'bb22' }), { urgency: 2 }, 'm1:u1:a2');
    const outcomes = await sender.send([urgent, bulk], new AbortController().signal);
    await sender.close();
    expect(apnsServer.refused).toEqual([]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['sent', 'sent']);
    const [first, second] = apnsServer.received.slice(-2);
    expect(first!.headers).toMatchObject({
      'apns-priority': '10',
      'apns-push-type': 'alert',
      'apns-expiration': String(Math.floor(expiresAt / 1000)),
      'apns-collapse-id': 'thread-7',
      'apns-id': apnsIdOf(urgent.recipient.deliveryId),
      'apns-topic': credentials.apns.topic,
    });
    expect(first!.payload).toMatchObject({
      aps: { alert: { title: 'Hello', body: 'World' }, 'thread-id': 't7' },
      messageId: 'msg-1',
    });
    expect(second!.headers['apns-priority']).toBe('5');
    expect(second!.headers['apns-expiration']).toBeUndefined();
  });

  it('410 Unregistered is a prune with the timestamp; 429 reports the Retry-After the library drops; no library retries', async () => {
    apnsServer.unregister('cc33', 1_700_000_000_000);
    apnsServer.script = (request) =>
      request.target === 'dd44'
        ? { status: 429, headers: { 'retry-after': '7' }, body: { reason: 'TooManyRequests' } }
        : undefined;
    const sender = adapter();
    const before = apnsServer.received.length;
    const [gone, throttled] = await sender.send(
      [
        messageTo(device('apns', 'a3', { token: 'cc33' })),
        messageTo(device('apns', 'a4', { token: 'dd44' }), {}, 'm1:u1:a4'),
      ],
      new AbortController().signal,
    );
    await sender.close();
    apnsServer.script = undefined;
    expect(gone).toMatchObject({
      status: 'rejected',
      prune: true,
      invalidSince: 1_700_000_000_000,
      providerCode: '410 Unregistered',
    });
    expect(throttled).toMatchObject({ status: 'throttled', retryAfterMs: 7_000 });
    expect(apnsServer.received.length - before).toBe(2);
  });

  it('a broadcast larger than the session allows goes out in slices of its max concurrent streams', async () => {
    const small = await startApnsServer({ ...credentials.apns, maxConcurrentStreams: 10 });
    const sender = createApnsAdapter({
      ...credentials.apns,
      production: false,
      address: { host: '127.0.0.1', port: small.port },
      caFile: certificateFile,
      requestTimeoutMs: 5_000,
    });
    const messages = Array.from({ length: 300 }, (_, index) =>
      messageTo(
        device('apns', `s${index}`, { token: `ab${index.toString(16).padStart(4, '0')}` }),
        {},
        `m1:u1:s${index}`,
      ),
    );
    const outcomes = await sender.send(messages, new AbortController().signal);
    await sender.close();
    await small.close();
    expect(outcomes.filter((outcome) => outcome.status === 'sent')).toHaveLength(300);
    expect(small.received).toHaveLength(300);
  });
});

interface FcmPayload {
  android: { priority: string; collapse_key?: string; ttl: string };
  notification?: unknown;
  data: Record<string, string>;
}

describe('FCM v1 over one HTTP/2 session with google-auth-library', () => {
  const adapter = () =>
    createFcmAdapter({
      credentialsFile: credentials.fcm.credentialsFile,
      endpoint: fcmServer.url,
      tokenUrl: fcmServer.tokenUrl,
      caFile: certificateFile,
    });

  it('gets an access token with the service account JWT and sends android priority, ttl and collapse_key', async () => {
    const sender = adapter();
    const expiresAt = Date.now() + 120_000;
    const outcomes = await sender.send(
      [
        messageTo(device('fcm', 'f1', { token: 'tok-1' }), { urgency: 3, expiresAt, collapseKey: 'thread-9' }),
        messageTo(device('fcm', 'f2', { token: 'tok-2' }), { urgency: 1 }, 'm1:u1:f2'),
      ],
      new AbortController().signal,
    );
    await sender.close();
    expect(fcmServer.refused).toEqual([]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['sent', 'sent']);
    expect(outcomes[0]!.providerMessageId).toMatch(/^projects\/msgxc-local\/messages\//);
    const [first, second] = fcmServer.received.slice(-2).map((received) => received.payload as FcmPayload);
    expect(first!.android.priority).toBe('HIGH');
    expect(first!.android.collapse_key).toBe('thread-9');
    expect(Number(String(first!.android.ttl).slice(0, -1))).toBeLessThanOrEqual(120);
    expect(first!.notification).toEqual({ title: 'Hello', body: 'World' });
    expect(first!.data.messageId).toBe('msg-1');
    expect(second!.android.priority).toBe('NORMAL');
    expect(fcmServer.tokensIssued).toBe(1);
  });

  it('UNREGISTERED prunes, QUOTA_EXCEEDED throttles for at least a minute, UNAVAILABLE is transient', async () => {
    fcmServer.unregister('dead-token');
    fcmServer.script = (request) =>
      request.target === 'quota'
        ? fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED')
        : request.target === 'down'
          ? { ...fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE'), headers: { 'retry-after': '3' } }
          : undefined;
    const sender = adapter();
    const [dead, quota, down] = await sender.send(
      [
        messageTo(device('fcm', 'f3', { token: 'dead-token' }), {}, 'd1'),
        messageTo(device('fcm', 'f4', { token: 'quota' }), {}, 'd2'),
        messageTo(device('fcm', 'f5', { token: 'down' }), {}, 'd3'),
      ],
      new AbortController().signal,
    );
    await sender.close();
    fcmServer.script = undefined;
    expect(dead).toMatchObject({ status: 'rejected', prune: true, providerCode: 'UNREGISTERED' });
    expect(quota!.status).toBe('throttled');
    expect(quota!.retryAfterMs).toBeGreaterThanOrEqual(60_000);
    expect(down).toMatchObject({ status: 'failed', providerCode: '503', retryAfterMs: 3_000 });
  });
});
