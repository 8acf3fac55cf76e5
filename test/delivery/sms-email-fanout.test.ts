import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TopicWatch, watchTopic } from '../../bench/harness/topics.ts';
import { verifyUnsubscribe } from '../../pipeline/feedback/index.ts';
import { ensureTopics } from '../../pipeline/topics/index.ts';
import type { DeliveryEvent, Device } from '../../schemas/types.generated.ts';
import { type SesFake, startSesFake } from '../../stack/providers/ses.ts';
import { startTwilioFake, type TwilioFake } from '../../stack/providers/twilio.ts';
import { stage as emailStage } from '../../stages/deliver-email/index.ts';
import { stage as smsStage } from '../../stages/deliver-sms/index.ts';
import { stage as fanoutStage } from '../../stages/fanout/index.ts';
import { audience, createWorld, fanoutJob, type World } from '../flow-egress/support.ts';
import { eventually } from './support/messaging-world.ts';

/**
 * From fanout on: a message to a user with a phone number and an e-mail address is expanded through the
 * audience index (OpenSearch), batched onto deliver.sms and deliver.email, and reaches the local Twilio
 * and SES with the thread's signed unsubscribe link; every delivery's outcome is a `sent` event.
 */

let world: World;
let twilio: TwilioFake;
let ses: SesFake;
let events: TopicWatch<DeliveryEvent>;
const secret = 'sms-email-fanout-tests-unsubscribe-secret-0123';

const addressOf = (channel: 'sms' | 'email', id: string, address: string): Device => ({
  channel,
  id,
  token: null,
  subscription: null,
  address,
  platform: null,
});

beforeAll(async () => {
  twilio = await startTwilioFake();
  ses = await startSesFake({ maxSendRate: 50 });
  world = await createWorld(
    {
      MSGXC_PUBLIC_URL: 'https://msgxc.test',
      MSGXC_UNSUBSCRIBE_SECRET: secret,
      MSGXC_TWILIO_ACCOUNT_SID: twilio.accountSid,
      MSGXC_TWILIO_AUTH_TOKEN: twilio.authToken,
      MSGXC_TWILIO_FROM: '+15005550006',
      MSGXC_TWILIO_API_URL: twilio.url,
      MSGXC_AWS_ACCESS_KEY_ID: ses.credentials.accessKeyId,
      MSGXC_AWS_SECRET_ACCESS_KEY: ses.credentials.secretAccessKey,
      MSGXC_SES_ENDPOINT: ses.url,
    },
    // A migrated keyspace: fanout writes every recipient's inbox row before it emits the batches.
  );
  await ensureTopics(world.config, [
    'audience',
    ...['deliver.sms', 'deliver.email'].flatMap((stage) => [`${stage}.retry`, `${stage}.dlq`]),
  ]);
  events = await watchTopic<DeliveryEvent>(world.config, 'events');
  await world.users([
    {
      uid: 'sam',
      tids: ['t-1'],
      devices: { sms: [addressOf('sms', 's1', '+14155550901')], email: [addressOf('email', 'e1', 'sam@example.test')] },
    },
  ]);
  await world.run([fanoutStage, smsStage, emailStage]);
});
afterAll(async () => {
  await events?.stop();
  await world?.drop();
  await Promise.all([twilio?.close(), ses?.close()]);
});

describe('fanout to SMS and e-mail', () => {
  it('a thread message reaches the user’s phone through Twilio and inbox through SES, each with a sent event', async () => {
    const job = fanoutJob({
      tid: 't-1',
      audience: audience.uids(['sam']),
      channels: ['sms', 'email'],
      subject: 'Hi',
      msg: 'Meet at 5',
    });
    await world.emitter.emit([{ topic: 'fanout', key: job.messageId, value: job }]);
    const sent = await eventually('sent on both channels', () => {
      const mine = events.values.filter((event) => event.messageId === job.messageId && event.type === 'sent');
      return mine.length === 2 ? mine : undefined;
    });
    expect(sent.map((event) => [event.channel, event.provider, event.uid]).sort()).toEqual([
      ['email', 'ses', 'sam'],
      ['sms', 'twilio', 'sam'],
    ]);
    expect(twilio.received.find((text) => text.to === '+14155550901')).toMatchObject({
      body: 'Hi\nMeet at 5',
      from: '+15005550006',
    });
    const email = ses.emails.find((mail) => mail.to[0] === 'sam@example.test')!;
    expect(email).toMatchObject({ subject: 'Hi' });
    const link = new URL(/^<(.+)>$/.exec(email.headers['List-Unsubscribe']!)![1]!);
    expect(verifyUnsubscribe(secret, link.searchParams)).toEqual({ uid: 'sam', tid: 't-1' });
  });
});
