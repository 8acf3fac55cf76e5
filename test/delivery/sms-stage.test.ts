import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceId } from '../../pipeline/store/user-types.ts';
import { type SnsFake, startSnsFake } from '../../stack/providers/sns.ts';
import { startTwilioFake, type TwilioFake } from '../../stack/providers/twilio.ts';
import { stage } from '../../stages/deliver-sms/index.ts';
import { addressDevice, batchFor } from './support/messaging-batches.ts';
import { createMessagingWorld, eventually, type MessagingWorld } from './support/messaging-world.ts';

/**
 * deliver.sms end to end on the real servers: DeliveryBatch records on Kafka, the stage with the shared
 * provider policy, the twilio and SNS SDKs against the local servers, outcome events on `events`, STOP
 * pruning the number in Cassandra and the audience index.
 */

let twilio: TwilioFake;
let sns: SnsFake;
let world: MessagingWorld;

beforeAll(async () => {
  twilio = await startTwilioFake();
  sns = await startSnsFake();
  world = await createMessagingWorld({
    MSGXC_PUBLIC_URL: 'https://msgxc.test',
    MSGXC_TWILIO_ACCOUNT_SID: twilio.accountSid,
    MSGXC_TWILIO_AUTH_TOKEN: twilio.authToken,
    MSGXC_TWILIO_MESSAGING_SERVICE_SID: 'MG00000000000000000000000000000001',
    MSGXC_TWILIO_API_URL: twilio.url,
    MSGXC_AWS_ACCESS_KEY_ID: sns.credentials.accessKeyId,
    MSGXC_AWS_SECRET_ACCESS_KEY: sns.credentials.secretAccessKey,
    MSGXC_SNS_ENDPOINT: sns.url,
  });
  await world.run(stage);
});
afterAll(async () => {
  await world?.drop();
  await Promise.all([twilio?.close(), sns?.close()]);
});

const eventsOf = (deliveryId: string) => world.events.values.filter((event) => event.deliveryId === deliveryId);

/**
 * Waits out what an earlier test left on Twilio (an open breaker, a Retry-After gate, a halved rate): while
 * Twilio may not be called the route sends through SNS, so probes go out until one goes through Twilio.
 */
async function twilioTakingTexts(): Promise<void> {
  await eventually('Twilio taking texts again', async () => {
    const probe = batchFor([{ uid: 'probe', device: addressDevice('sms', '+14155550399') }], { msg: 'probe' });
    await world.publish('deliver.sms', probe);
    const sent = await eventually('the probe', () =>
      eventsOf(probe.recipients[0]!.deliveryId).find((e) => e.type === 'sent'),
    );
    return sent.provider === 'twilio' ? true : undefined;
  });
}

describe('deliver.sms', () => {
  it('a published batch reaches Twilio with the right fields; each recipient gets a sent event with its segments', async () => {
    const batch = batchFor(
      [
        { uid: 'alice', device: addressDevice('sms', '+14155550301') },
        { uid: 'bob', device: addressDevice('sms', '+14155550302') },
      ],
      { msg: 'Grüße' },
    );
    await world.publish('deliver.sms', batch);
    const sent = await eventually('sent events', () => {
      const found = batch.recipients.map((r) => eventsOf(r.deliveryId).find((event) => event.type === 'sent'));
      return found.every(Boolean) ? found : undefined;
    });
    expect(twilio.refused).toEqual([]);
    for (const [index, recipient] of batch.recipients.entries()) {
      const received = twilio.received.find((message) => message.to === recipient.device!.address)!;
      expect(received).toMatchObject({ body: 'Grüße', messagingServiceSid: 'MG00000000000000000000000000000001' });
      expect(new URL(received.statusCallback!).searchParams.get('d')).toBe(recipient.deliveryId);
      expect(sent[index]).toMatchObject({
        channel: 'sms',
        provider: 'twilio',
        providerMessageId: received.sid,
        messageId: batch.messageId,
        uid: recipient.uid,
        segments: 1,
      });
      expect(sent[index]!.latencyMs).toEqual(expect.any(Number));
    }
  });

  it('Twilio down: the batch fails over to Amazon SNS', async () => {
    twilio.down = true;
    try {
      const batch = batchFor([{ uid: 'carol', device: addressDevice('sms', '+14155550303') }], { msg: 'failover' });
      await world.publish('deliver.sms', batch);
      const sent = await eventually('an SNS sent event', () =>
        eventsOf(batch.recipients[0]!.deliveryId).find((event) => event.type === 'sent'),
      );
      expect(sent.provider).toBe('sns');
      expect(sns.sms.find((message) => message.phoneNumber === '+14155550303')).toMatchObject({ message: 'failover' });
      expect(twilio.received.some((message) => message.to === '+14155550303')).toBe(false);
    } finally {
      twilio.down = false;
    }
  });

  it('20429: a throttled event, no request to Twilio before its Retry-After, and the text still goes out', async () => {
    await twilioTakingTexts();
    twilio.throttle(1, 3);
    const batch = batchFor([{ uid: 'dave', device: addressDevice('sms', '+14155550304') }], { msg: 'slow down' });
    await world.publish('deliver.sms', batch);
    const deliveryId = batch.recipients[0]!.deliveryId;
    const throttled = await eventually('a throttled event', () =>
      eventsOf(deliveryId).find((e) => e.type === 'throttled'),
    );
    expect(throttled).toMatchObject({ provider: 'twilio', providerCode: '20429' });
    await eventually('a sent event', () => eventsOf(deliveryId).find((e) => e.type === 'sent'));
    const until = twilio.throttledUntil.at(-1)!;
    const throttledAt = until - 3000;
    const laterTwilioRequests = twilio.received.filter((message) => message.receivedAt > throttledAt);
    for (const request of laterTwilioRequests) expect(request.receivedAt).toBeGreaterThanOrEqual(until - 50);
  });

  it('STOP (21610): a rejected event and the number is removed from the user (Cassandra and the audience index)', async () => {
    await twilioTakingTexts();
    const number = '+14155550305';
    await world.users.enlistDevice('erin', { channel: 'sms', address: number });
    const id = deviceId({ channel: 'sms', address: number });
    twilio.stopped.add(number);
    const batch = batchFor([{ uid: 'erin', device: addressDevice('sms', number, id) }], { msg: 'hello' });
    await world.publish('deliver.sms', batch);
    const rejected = await eventually('a rejected event', () =>
      eventsOf(batch.recipients[0]!.deliveryId).find((event) => event.type === 'rejected'),
    );
    expect(rejected).toMatchObject({ provider: 'twilio', providerCode: '21610' });
    const change = await eventually('an audience change', () =>
      world.audience.values.find((value) => value.uid === 'erin' && value.type === 'remove_device'),
    );
    expect(change.device).toMatchObject({ channel: 'sms', id });
    expect(await world.users.devicesOf('erin', 'sms')).toEqual([]);
    expect(await world.users.deadDevicesOf('erin')).toMatchObject([{ channel: 'sms', id, reason: '21610' }]);
  });
});
