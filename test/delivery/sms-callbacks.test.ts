import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { Secret } from '../../pipeline/config/messaging.ts';
import { createUserStore } from '../../pipeline/store/user.ts';
import { deviceId } from '../../pipeline/store/user-types.ts';
import { startTwilioFake, type TwilioFake } from '../../stack/providers/twilio.ts';
import { createTwilioAdapter } from '../../stages/deliver-sms/twilio.ts';
import { addressDevice, batchFor, outgoing, signal } from './support/messaging-batches.ts';
import { type FacadeWorld, startFacade } from './support/messaging-facade.ts';
import { eventually } from './support/messaging-world.ts';

/**
 * Twilio status callbacks: the SMS adapter sends through the local Twilio server with the facade as its
 * StatusCallback; the server then posts signed callbacks (X-Twilio-Signature, as Twilio computes it) to
 * the facade, which checks them with the SDK's validateRequest and records delivered/undelivered events.
 */

let twilio: TwilioFake;
let facade: FacadeWorld;

beforeAll(async () => {
  twilio = await startTwilioFake();
  facade = await startFacade({
    MSGXC_TWILIO_ACCOUNT_SID: twilio.accountSid,
    MSGXC_TWILIO_AUTH_TOKEN: twilio.authToken,
    MSGXC_TWILIO_FROM: '+15005550006',
    MSGXC_TWILIO_API_URL: twilio.url,
  });
});
afterAll(async () => {
  await facade?.close();
  await twilio?.close();
});

async function sendText(uid: string, number: string, id = `sms-${number}`) {
  const adapter = createTwilioAdapter(
    {
      accountSid: twilio.accountSid,
      authToken: new Secret(twilio.authToken),
      messagingServiceSid: null,
      from: '+15005550006',
      apiUrl: twilio.url,
      segmentsPerSecond: 10,
    },
    facade.publicUrl,
  );
  const batch = batchFor([{ uid, device: addressDevice('sms', number, id) }]);
  const [outcome] = await adapter.send(outgoing(batch), signal());
  await adapter.close();
  expect(outcome!.status).toBe('sent');
  return { batch, sid: outcome!.providerMessageId!, deliveryId: batch.recipients[0]!.deliveryId };
}

const eventOf = (deliveryId: string, type: string) =>
  eventually(`${type} for ${deliveryId}`, () =>
    facade.events.values.find((event) => event.deliveryId === deliveryId && event.type === type),
  );

describe('Twilio status callbacks', () => {
  it('delivered becomes a delivered event naming the delivery, the message and the Twilio sid', async () => {
    const { batch, sid, deliveryId } = await sendText('alice', '+14155550401');
    const answer = await twilio.reportStatus(sid, 'delivered');
    expect(answer.status).toBe(204);
    const event = await eventOf(deliveryId, 'delivered');
    expect(event).toMatchObject({
      eventId: `twilio:${sid}:delivered`,
      messageId: batch.messageId,
      uid: 'alice',
      channel: 'sms',
      provider: 'twilio',
      providerMessageId: sid,
    });
  });

  it('undelivered (carrier 30003) becomes an undelivered event with the carrier code', async () => {
    const { sid, deliveryId } = await sendText('bob', '+14155550402');
    expect((await twilio.reportStatus(sid, 'undelivered', '30003')).status).toBe(204);
    expect(await eventOf(deliveryId, 'undelivered')).toMatchObject({
      providerCode: '30003',
      reason: 'CARRIER_UNDELIVERED',
    });
  });

  it('a callback whose signature does not match is refused with 403 and records nothing', async () => {
    const { sid, deliveryId } = await sendText('carol', '+14155550403');
    const callback = twilio.received.find((message) => message.sid === sid)!.statusCallback!;
    const answer = await fetch(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl' },
      body: new URLSearchParams({ MessageSid: sid, MessageStatus: 'delivered', AccountSid: twilio.accountSid }),
    });
    expect(answer.status).toBe(403);
    // Another, genuine callback after it arrives; the forged one never became an event before it.
    await twilio.reportStatus(sid, 'undelivered', '30005');
    await eventOf(deliveryId, 'undelivered');
    expect(facade.events.values.filter((event) => event.deliveryId === deliveryId).map((e) => e.type)).toEqual([
      'undelivered',
    ]);
  });

  it('an undelivered callback with 21610 (the recipient replied STOP) removes the number from its owner', async () => {
    const config = facade.harness.config;
    const cassandra = createCassandra(config);
    const users = createUserStore(cassandra);
    try {
      const number = '+14155550404';
      await users.enlistDevice('dave', { channel: 'sms', address: number });
      const id = deviceId({ channel: 'sms', address: number });
      const { sid } = await sendText('dave', number, id);
      expect((await twilio.reportStatus(sid, 'undelivered', '21610')).status).toBe(204);
      expect(await users.devicesOf('dave', 'sms')).toEqual([]);
      expect(await users.deadDevicesOf('dave')).toMatchObject([{ channel: 'sms', id, reason: 'SMS_STOP' }]);
      const change = await eventually('the audience change', () =>
        facade.audience.values.find((value) => value.uid === 'dave' && value.type === 'remove_device'),
      );
      expect(change.device).toMatchObject({ channel: 'sms', id, address: number });
    } finally {
      await cassandra.shutdown();
    }
  });
});
