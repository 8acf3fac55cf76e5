import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../pipeline/config/messaging.ts';
import { isProviderFault } from '../../pipeline/delivery/index.ts';
import { type SnsFake, startSnsFake } from '../../stack/providers/sns.ts';
import { startTwilioFake, type TwilioFake } from '../../stack/providers/twilio.ts';
import { createSnsAdapter } from '../../stages/deliver-sms/sns.ts';
import { createTwilioAdapter } from '../../stages/deliver-sms/twilio.ts';
import { addressDevice, batchFor, outgoing, signal } from './support/messaging-batches.ts';

/** The SMS adapters with their real SDKs (twilio, @aws-sdk/client-sns) against the local provider servers. */

let twilioFake: TwilioFake;
let snsFake: SnsFake;
const publicUrl = 'https://msgxc.test';

beforeAll(async () => {
  twilioFake = await startTwilioFake();
  snsFake = await startSnsFake();
});
afterAll(async () => {
  await Promise.all([twilioFake.close(), snsFake.close()]);
});

const twilioAdapter = (overrides: { messagingServiceSid?: string | null; from?: string | null; token?: string } = {}) =>
  createTwilioAdapter(
    {
      accountSid: twilioFake.accountSid,
      authToken: new Secret(overrides.token ?? twilioFake.authToken),
      messagingServiceSid:
        overrides.messagingServiceSid === undefined
          ? 'MG0123456789abcdef0123456789abcdef'
          : overrides.messagingServiceSid,
      from: overrides.from ?? null,
      apiUrl: twilioFake.url,
      segmentsPerSecond: 100,
    },
    publicUrl,
  );

const snsAdapter = () =>
  createSnsAdapter({
    region: 'eu-west-1',
    accessKeyId: snsFake.credentials.accessKeyId,
    secretAccessKey: new Secret(snsFake.credentials.secretAccessKey),
    endpoint: snsFake.url,
    perSecond: 100,
  });

describe('Twilio through the twilio SDK', () => {
  it('sends with the Messaging Service, a signed-able status callback naming the delivery, and the segments billed', async () => {
    const adapter = twilioAdapter();
    const batch = batchFor([{ uid: 'alice', device: addressDevice('sms', '+14155550101') }], {
      subject: 'Ünïcode',
      msg: 'x'.repeat(80),
      expiresAt: Date.now() + 120_000,
    });
    const [outcome] = await adapter.send(outgoing(batch), signal());
    await adapter.close();
    expect(twilioFake.refused).toEqual([]);
    const received = twilioFake.received.at(-1)!;
    expect(outcome).toMatchObject({
      status: 'sent',
      providerMessageId: received.sid,
      deliveryId: batch.recipients[0]!.deliveryId,
    });
    // "Ü" is outside GSM 03.38: 88 UCS-2 units take two segments of 67.
    expect(outcome!.segments).toBe(2);
    expect(received).toMatchObject({
      to: '+14155550101',
      messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      from: null,
      body: `Ünïcode\n${'x'.repeat(80)}`,
    });
    expect(received.validityPeriod).toBeGreaterThan(110);
    expect(received.validityPeriod).toBeLessThanOrEqual(120);
    const callback = new URL(received.statusCallback!);
    expect(callback.origin + callback.pathname).toBe(`${publicUrl}/api/v1/providers/twilio/status`);
    expect(callback.searchParams.get('d')).toBe(batch.recipients[0]!.deliveryId);
    expect(callback.searchParams.get('m')).toBe(batch.messageId);
  });

  it('sends from a number when no Messaging Service is configured; a GSM-7 text is one segment', async () => {
    const adapter = twilioAdapter({ messagingServiceSid: null, from: '+15005550006' });
    const batch = batchFor([{ uid: 'bob', device: addressDevice('sms', '+14155550102') }], { msg: 'a'.repeat(160) });
    const [outcome] = await adapter.send(outgoing(batch), signal());
    await adapter.close();
    expect(outcome).toMatchObject({ status: 'sent', segments: 1 });
    expect(twilioFake.received.at(-1)).toMatchObject({ from: '+15005550006', messagingServiceSid: null });
  });

  it('STOP (21610) rejects and asks to suppress and prune the number; an invalid number is rejected', async () => {
    twilioFake.stopped.add('+14155550103');
    const adapter = twilioAdapter();
    const batch = batchFor([
      { uid: 'carol', device: addressDevice('sms', '+14155550103') },
      { uid: 'dave', device: addressDevice('sms', '12345') },
    ]);
    const outcomes = await adapter.send(outgoing(batch), signal());
    await adapter.close();
    expect(outcomes[0]).toMatchObject({ status: 'rejected', providerCode: '21610', suppress: true, prune: true });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', providerCode: '21211', prune: true });
  });

  it('20429 is throttled with the Retry-After Twilio gave; 503 is a transient failure the breaker counts', async () => {
    const adapter = twilioAdapter();
    twilioFake.throttle(1, 7);
    const [throttled] = await adapter.send(
      outgoing(batchFor([{ uid: 'eve', device: addressDevice('sms', '+14155550104') }])),
      signal(),
    );
    expect(throttled).toMatchObject({ status: 'throttled', providerCode: '20429', retryAfterMs: 7000 });
    twilioFake.down = true;
    const [down] = await adapter.send(
      outgoing(batchFor([{ uid: 'eve', device: addressDevice('sms', '+14155550104') }])),
      signal(),
    );
    twilioFake.down = false;
    await adapter.close();
    expect(down).toMatchObject({ status: 'failed', providerCode: '503' });
    expect(isProviderFault(down!)).toBe(true);
  });

  it('a wrong auth token is refused by the server (Basic auth checked) and is not a permanent rejection', async () => {
    const adapter = twilioAdapter({ token: 'wrong' });
    const [outcome] = await adapter.send(
      outgoing(batchFor([{ uid: 'eve', device: addressDevice('sms', '+14155550105') }])),
      signal(),
    );
    await adapter.close();
    expect(twilioFake.refused.pop()).toBe('auth');
    expect(outcome).toMatchObject({ status: 'failed', providerCode: '20003' });
  });
});

describe('Amazon SNS through @aws-sdk/client-sns', () => {
  it('publishes to the phone number, SigV4-signed, Transactional for urgency 3–4 and Promotional for 1–2', async () => {
    const adapter = snsAdapter();
    const urgent = batchFor([{ uid: 'alice', device: addressDevice('sms', '+14155550201') }], {
      urgency: 4,
      msg: 'now',
    });
    const advert = batchFor([{ uid: 'alice', device: addressDevice('sms', '+14155550201') }], {
      urgency: 1,
      msg: 'sale',
    });
    const outcomes = await adapter.send([...outgoing(urgent), ...outgoing(advert)], signal());
    await adapter.close();
    expect(snsFake.refused).toEqual([]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['sent', 'sent']);
    expect(snsFake.sms.slice(-2)).toMatchObject([
      {
        phoneNumber: '+14155550201',
        message: 'now',
        smsType: 'Transactional',
        messageId: outcomes[0]!.providerMessageId,
      },
      { phoneNumber: '+14155550201', message: 'sale', smsType: 'Promotional' },
    ]);
  });

  it('Throttled (429) is throttled; a bad number is rejected; wrong credentials fail the signature check', async () => {
    const adapter = snsAdapter();
    snsFake.throttle(1);
    const [throttled] = await adapter.send(
      outgoing(batchFor([{ uid: 'a', device: addressDevice('sms', '+14155550202') }])),
      signal(),
    );
    const [invalid] = await adapter.send(
      outgoing(batchFor([{ uid: 'a', device: addressDevice('sms', 'nope') }])),
      signal(),
    );
    await adapter.close();
    expect(throttled).toMatchObject({ status: 'throttled', providerCode: 'ThrottledException' });
    expect(invalid).toMatchObject({ status: 'rejected', providerCode: 'InvalidParameterException' });
    const forged = createSnsAdapter({
      region: 'eu-west-1',
      accessKeyId: snsFake.credentials.accessKeyId,
      secretAccessKey: new Secret('not-the-secret'),
      endpoint: snsFake.url,
      perSecond: 1,
    });
    const [refused] = await forged.send(
      outgoing(batchFor([{ uid: 'a', device: addressDevice('sms', '+14155550203') }])),
      signal(),
    );
    await forged.close();
    expect(refused!.status).not.toBe('sent');
    expect(snsFake.refused.pop()).toBe('auth: signature does not match');
  });
});
