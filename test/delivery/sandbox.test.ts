import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../pipeline/config/index.ts';
import { deliverRecord } from '../../pipeline/delivery/deliver.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import type { InputRecord } from '../../pipeline/runtime/types.ts';
import {
  buildDeliveryBatch,
  type DeliveryBatch,
  type DeliveryEvent,
  type Device,
} from '../../schemas/types.generated.ts';
import type { Received } from '../../stack/providers/common.ts';
import { type Sandbox, startSandbox } from '../../stack/providers/sandbox.ts';
import { stage as apnsStage } from '../../stages/deliver-apns/index.ts';
import { stage as fcmStage } from '../../stages/deliver-fcm/index.ts';
import { stage as webpushStage } from '../../stages/deliver-webpush/index.ts';

/**
 * The sandbox as `npm start` runs it: no provider credentials, so every push channel is pointed at a local
 * server; the stages' own setup (as `msgxc run` calls it) then delivers there, and the sandbox page lists what
 * arrived, decrypted. Without the sandbox, the same channels are disabled and deliveries become `skipped`.
 */
const log = createLogger(parseConfig({ MSGXC_LOG_LEVEL: 'silent' }), 'sandbox-test');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

function recordFor(channel: Device['channel'], device: Device): InputRecord<DeliveryBatch> {
  const batch = buildDeliveryBatch({
    batchId: `b-${channel}`,
    channel,
    messageId: `m-${channel}`,
    urgency: 3,
    subject: 'Sandbox',
    msg: `hello over ${channel}`,
    recipients: [{ deliveryId: `m-${channel}:u1:${device.id}`, uid: 'u1', device, variant: null, locale: null }],
    sender: { kind: 'service', id: 'sandbox-test' } as DeliveryBatch['sender'],
    createdAt: Date.now(),
    batchedAt: Date.now(),
  });
  return {
    topic: `deliver.${channel}`,
    partition: 0,
    offset: '0',
    key: null,
    value: batch,
    headers: {},
    timestamp: Date.now(),
  };
}

const device = (channel: Device['channel'], extra: Partial<Device>): Device => ({
  channel,
  id: `${channel}-1`,
  token: null,
  subscription: null,
  address: null,
  platform: null,
  ...extra,
});

describe('the provider sandbox', () => {
  it('points every channel without credentials at a local server and lists what each received', async () => {
    const base = parseConfig({ MSGXC_LOG_LEVEL: 'silent', MSGXC_SANDBOX_PORT: '0' });
    const sandbox: Sandbox = await startSandbox(base, log);
    closers.push(() => sandbox.close());
    expect(sandbox.channels.sort()).toEqual(['apns', 'fcm', 'webpush']);
    const subscription = (await (await fetch(`${sandbox.url}webpush/subscriptions`, { method: 'POST' })).json()) as {
      endpoint: string;
      keys: { p256dh: string; auth: string };
    };
    const records = {
      webpush: recordFor(
        'webpush',
        device('webpush', {
          subscription: { endpoint: subscription.endpoint, expirationTime: null, ...subscription.keys },
        }),
      ),
      apns: recordFor('apns', device('apns', { token: 'ab'.repeat(32) })),
      fcm: recordFor('fcm', device('fcm', { token: 'sandbox-fcm-token-1234' })),
    };
    for (const [channel, stage] of [
      ['webpush', webpushStage],
      ['apns', apnsStage],
      ['fcm', fcmStage],
    ] as const) {
      const deps = await stage.setup!(sandbox.config, log);
      closers.push(() => deps.close());
      const outputs = await deliverRecord(records[channel], deps.context, new AbortController().signal);
      expect(outputs.map((output) => (output.value as DeliveryEvent).type)).toEqual(['sent']);
    }
    const received = (await (await fetch(`${sandbox.url}received`)).json()) as Received[];
    expect(received.map((item) => [item.provider, item.status]).sort()).toEqual([
      ['apns', 200],
      ['fcm', 200],
      ['webpush', 201],
    ]);
    expect(received.find((item) => item.provider === 'webpush')!.payload).toMatchObject({ body: 'hello over webpush' });
    const page = await (await fetch(sandbox.url!)).text();
    expect(page).toContain('hello over apns');
  });

  it('without the sandbox a channel lacking credentials is disabled and its deliveries become skipped events', async () => {
    const config = parseConfig({ MSGXC_LOG_LEVEL: 'silent', MSGXC_DELIVERY_SANDBOX: 'off' });
    const sandbox = await startSandbox(config, log);
    expect(sandbox.channels).toEqual([]);
    const deps = await apnsStage.setup!(config, log);
    closers.push(() => deps.close());
    expect(deps.context.route).toBeNull();
    const outputs = await deliverRecord(
      recordFor('apns', device('apns', { token: 'cd'.repeat(32) })),
      deps.context,
      new AbortController().signal,
    );
    const events = outputs.map((output) => output.value as DeliveryEvent);
    expect(events.map((event) => [event.type, event.reason])).toEqual([['skipped', 'CHANNEL_DISABLED']]);
    expect(events[0]!.detail).toContain('MSGXC_APNS_KEY_FILE');
  });
});
