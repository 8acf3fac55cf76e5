import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createApi, eventually, tokenFor } from '../../bench/harness/api.ts';
import type { MsgxcProcess } from '../../bench/harness/processes.ts';
import { createSystem, prepare, type System } from '../../bench/harness/system.ts';
import { readAll } from '../../bench/harness/topics.ts';
import type { DeliveryEvent } from '../../schemas/types.generated.ts';
import { type Providers, type PushUser, pushUser, startDelivery, startProviders, subscriptionId } from './support.ts';

/**
 * The whole pipeline as processes (stages, facade, and the three delivery stages in a process of their own)
 * with the delivery stages pointed at the local provider servers through the environment: what each provider
 * receives, verifies and decrypts; pruning; Retry-After; the circuit breaker.
 */
let providers: Providers;
let system: System;
let api: Api;
let admin: string;
let delivery: MsgxcProcess;

beforeAll(async () => {
  providers = await startProviders();
  system = await createSystem({
    ...providers.env,
    MSGXC_DELIVERY_RETRY_BASE_MS: '300',
    MSGXC_DELIVERY_RETRY_MAX_MS: '2000',
    MSGXC_DELIVERY_MAX_WAIT_MS: '1000',
    MSGXC_DELIVERY_BREAKER_FAILURES: '2',
    MSGXC_DELIVERY_BREAKER_COOLDOWN_MS: '1500',
  });
  await prepare(system);
  await Promise.all([system.start('stages'), system.start('http')]);
  delivery = await startDelivery(system, 1);
  api = createApi(system.httpUrl);
  admin = await tokenFor('delivery-admin', ['admin']);
}, 300_000);

afterAll(async () => {
  await delivery?.stop();
  await system?.teardown();
  await providers?.close();
  if (system) console.info(`delivery e2e logs: ${system.logDir}`);
}, 120_000);

const send = (uid: string, msg: string, opts: Record<string, unknown> = {}) =>
  api.ok('POST', '/api/v1/send', admin, { uid, msg, opts });

const receivedBy = (user: PushUser, marker: string) => ({
  webpush: providers.webpush.received.filter(
    (item) => item.target === subscriptionId(user.webpushEndpoint) && JSON.stringify(item.payload).includes(marker),
  ),
  apns: providers.apns.received.filter(
    (item) => item.target === user.apnsToken && JSON.stringify(item.payload).includes(marker),
  ),
  fcm: providers.fcm.received.filter(
    (item) => item.target === user.fcmToken && JSON.stringify(item.payload).includes(marker),
  ),
});

describe('push delivery through the pipeline', () => {
  it('every provider receives a request it verifies and decrypts, with the headers urgency and expiry imply', async () => {
    const alice = await pushUser(system, api, providers, 'alice');
    const before = Date.now();
    await send('alice', 'first hello', { subject: 'Hi', ttl: 600, collapseKey: 'chat-1' });
    const got = await eventually('all three providers to receive it', async () => {
      const found = receivedBy(alice, 'first hello');
      return found.webpush.length && found.apns.length && found.fcm.length ? found : undefined;
    });
    expect([...providers.webpush.refused, ...providers.apns.refused, ...providers.fcm.refused]).toEqual([]);
    const webpush = got.webpush[0]!;
    expect(webpush.payload).toMatchObject({ title: 'Hi', body: 'first hello' });
    expect(webpush.headers.urgency).toBe('normal');
    expect(Number(webpush.headers.ttl)).toBeLessThanOrEqual(600);
    expect(webpush.headers.topic).toBe('chat-1');
    const apns = got.apns[0]!;
    expect(apns.headers['apns-priority']).toBe('10');
    expect(apns.headers['apns-collapse-id']).toBe('chat-1');
    const expiration = Number(apns.headers['apns-expiration']) * 1000;
    expect(expiration).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 599_000);
    expect(expiration).toBeLessThanOrEqual(Date.now() + 600_000);
    const fcm = got.fcm[0]!.payload as { android: { priority: string; ttl: string; collapse_key: string } };
    expect(fcm.android).toMatchObject({ priority: 'HIGH', collapse_key: 'chat-1' });
    expect(Number(fcm.android.ttl.slice(0, -1))).toBeLessThanOrEqual(600);

    const events = await eventually('the sent events', async () => {
      const all = (await readAll<DeliveryEvent>(system.config, 'events')).map((record) => record.value);
      const sent = all.filter((event) => event.uid === 'alice' && event.type === 'sent' && event.provider !== null);
      return sent.length >= 3 ? sent : undefined;
    });
    expect(new Set(events.map((event) => event.provider))).toEqual(new Set(['webpush', 'apns', 'fcm']));
    for (const event of events) {
      expect(event.messageId).not.toBeNull();
      expect(event.deliveryId).not.toBeNull();
      expect(event.latencyMs).not.toBeNull();
      expect(event.providerCode).not.toBeNull();
      expect(event.source).toBe(`deliver.${event.channel}`);
    }
  });

  it('410 Unregistered prunes the device and the next message skips it; an older 410 keeps a re-registered token', async () => {
    const bob = await pushUser(system, api, providers, 'bob');
    const carol = await pushUser(system, api, providers, 'carol');
    providers.apns.unregister(bob.apnsToken, Date.now());
    providers.apns.unregister(carol.apnsToken, Date.now() - 3_600_000);
    providers.webpush.expire(bob.webpushEndpoint);
    await send('bob', 'to a dead token');
    await send('carol', 'to a re-registered token');
    await eventually('bob’s apns and webpush devices to be pruned', async () => {
      const devices = (await api.ok<{ channel: string }[]>('GET', '/api/v1/devices', bob.token)).body;
      return devices
        .map((device) => device.channel)
        .sort()
        .join() === 'fcm'
        ? true
        : undefined;
    });
    await eventually('the audience index to drop them', async () => {
      const doc = await system.index.get('bob');
      return doc && doc.devices.apns.length === 0 && doc.devices.webpush.length === 0 ? true : undefined;
    });
    await system.index.refresh();
    const carolDevices = (await api.ok<{ channel: string }[]>('GET', '/api/v1/devices', carol.token)).body;
    expect(carolDevices.map((device) => device.channel).sort()).toEqual(['apns', 'fcm', 'webpush']);

    const apnsBefore = providers.apns.received.filter((item) => item.target === bob.apnsToken).length;
    await send('bob', 'after the prune');
    await eventually('bob’s fcm to receive the next message', async () =>
      receivedBy(bob, 'after the prune').fcm.length > 0 ? true : undefined,
    );
    expect(providers.apns.received.filter((item) => item.target === bob.apnsToken)).toHaveLength(apnsBefore);
    expect(receivedBy(bob, 'after the prune').webpush).toEqual([]);
  });

  it('429 with Retry-After: no request to the provider before the time it gave', async () => {
    const dave = await pushUser(system, api, providers, 'dave');
    const target = subscriptionId(dave.webpushEndpoint);
    let throttledAt = 0;
    providers.webpush.script = (request) => {
      if (request.target !== target || throttledAt !== 0) return undefined;
      throttledAt = Date.now();
      return { status: 429, headers: { 'retry-after': '3' } };
    };
    await send('dave', 'slow down');
    const accepted = await eventually('the throttled push to arrive later', async () =>
      providers.webpush.received.find((item) => item.target === target && item.status === 201),
    );
    providers.webpush.script = undefined;
    expect(throttledAt).toBeGreaterThan(0);
    // Everything the push service got after the throttled request itself (on a loaded machine the log can
    // stamp that request a little after the script answered it, so it is told apart by position, not time).
    const log = providers.webpush.received;
    const throttled = log.findIndex((item) => item.target === target && item.status === 429);
    const afterThrottle = log.slice(throttled + 1);
    // Nothing at all went to the push service inside the window it asked for.
    expect(afterThrottle.filter((item) => item.at < throttledAt + 3_000)).toEqual([]);
    expect(accepted.at - throttledAt).toBeGreaterThanOrEqual(3_000);
  });

  it('a provider down: the breaker opens, later records wait instead of failing, then everything flows', async () => {
    const erin = await pushUser(system, api, providers, 'erin');
    let down = true;
    providers.apns.script = (request) =>
      down && request.target === erin.apnsToken ? { status: 503, body: { reason: 'ServiceUnavailable' } } : undefined;
    const count = 10;
    const failed = () =>
      providers.apns.received.filter((item) => item.target === erin.apnsToken && item.status === 503).length;
    // Two messages trip it; the other eight are sent while it is open. (Sent all at once, the stage could have
    // them all in flight before the first failure came back, as it did on a slow machine: 11 failures.)
    const tripping = 2;
    for (let index = 0; index < tripping; index += 1) await send('erin', `outage ${index}`);
    await eventually('the breaker to open after two failures', async () => (failed() >= tripping ? true : undefined));
    const openedAt = Date.now();
    const failedAtOpen = failed();
    for (let index = tripping; index < count; index += 1) await send('erin', `outage ${index}`);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const failedWhileOpen = failed() - failedAtOpen;
    // While open, one probe per cool-down, the cool-down doubling after each failed probe (1.5 s, 3 s, 6 s …);
    // the window counts a second more for the poll that saw it open, and one call may have been in flight.
    const openFor = Date.now() - openedAt + 1_000;
    const probes = Math.floor(Math.log2(openFor / 1_500 + 1));
    down = false;
    await eventually(
      'every message to reach apns once it is back',
      async () => {
        const delivered = new Set(
          providers.apns.received
            .filter((item) => item.target === erin.apnsToken && item.status === 200)
            .map((item) => JSON.stringify(item.payload)),
        );
        return delivered.size >= count ? true : undefined;
      },
      { timeoutMs: 120_000 },
    );
    providers.apns.script = undefined;
    // Records behind the open breaker waited: only its probes reached the provider while it was open.
    expect(failedWhileOpen).toBeLessThanOrEqual(probes + 1);
    expect(failedWhileOpen).toBeLessThan(count - tripping);
    // The provider answers before the stage records its outcome: wait for the last `sent` event to land.
    const sentToErin = (events: DeliveryEvent[]) =>
      events.filter((event) => event.uid === 'erin' && event.provider === 'apns' && event.type === 'sent');
    const events = await eventually('a sent event per message', async () => {
      const read = (await readAll<DeliveryEvent>(system.config, 'events')).map((record) => record.value);
      return sentToErin(read).length >= count ? read : undefined;
    });
    expect(events.filter((event) => event.uid === 'erin' && event.reason === 'RETRIES_EXHAUSTED')).toEqual([]);
    expect(sentToErin(events).length).toBeGreaterThanOrEqual(count);
  });
});
