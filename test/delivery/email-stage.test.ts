import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyUnsubscribe } from '../../pipeline/feedback/index.ts';
import { deviceId } from '../../pipeline/store/user-types.ts';
import { type SesFake, startSesFake } from '../../stack/providers/ses.ts';
import { type SmtpFake, startSmtpFake } from '../../stack/providers/smtp.ts';
import { stage } from '../../stages/deliver-email/index.ts';
import { addressDevice, batchFor } from './support/messaging-batches.ts';
import { createMessagingWorld, eventually, type MessagingWorld } from './support/messaging-world.ts';

/**
 * deliver.email end to end on the real servers: SES v2 primary (through the local SES server, its send
 * rate enforced), SMTP failover (a real smtp-server), outcome events, an unknown mailbox pruned.
 */

let ses: SesFake;
let smtp: SmtpFake;
let world: MessagingWorld;
const secret = 'email-stage-tests-unsubscribe-secret-0123456789';

beforeAll(async () => {
  ses = await startSesFake({ maxSendRate: 4 });
  smtp = await startSmtpFake();
  world = await createMessagingWorld({
    MSGXC_PUBLIC_URL: 'https://msgxc.test',
    MSGXC_UNSUBSCRIBE_SECRET: secret,
    MSGXC_EMAIL_FROM: 'msgxc <no-reply@msgxc.test>',
    MSGXC_AWS_ACCESS_KEY_ID: ses.credentials.accessKeyId,
    MSGXC_AWS_SECRET_ACCESS_KEY: ses.credentials.secretAccessKey,
    MSGXC_SES_ENDPOINT: ses.url,
    MSGXC_SES_CONFIGURATION_SET: 'msgxc-events',
    MSGXC_SES_MAX_SEND_RATE: '4',
    MSGXC_SMTP_URL: smtp.url,
  });
  await world.run(stage);
});
afterAll(async () => {
  await world?.drop();
  await Promise.all([ses?.close(), smtp?.close()]);
});

const eventsOf = (deliveryId: string) => world.events.values.filter((event) => event.deliveryId === deliveryId);
const sentEvent = (deliveryId: string) =>
  eventually(`a sent event for ${deliveryId}`, () => eventsOf(deliveryId).find((event) => event.type === 'sent'));

async function sesTakingMail(): Promise<void> {
  await eventually('SES taking mail again', async () => {
    const probe = batchFor([{ uid: 'probe', device: addressDevice('email', 'probe@example.test') }], { msg: 'probe' });
    await world.publish('deliver.email', probe);
    return (await sentEvent(probe.recipients[0]!.deliveryId)).provider === 'ses' ? true : undefined;
  });
}

describe('deliver.email', () => {
  it('a published batch reaches SES with templated bodies and a signed one-click unsubscribe for the thread', async () => {
    const batch = batchFor([{ uid: 'alice', device: addressDevice('email', 'alice@example.test') }], {
      tid: 'thread-1',
      subject: 'Lunch?',
      msg: 'At noon.',
    });
    await world.publish('deliver.email', batch);
    const sent = await sentEvent(batch.recipients[0]!.deliveryId);
    const email = ses.emails.find((candidate) => candidate.to[0] === 'alice@example.test')!;
    expect(ses.refused).toEqual([]);
    expect(sent).toMatchObject({ provider: 'ses', channel: 'email', providerMessageId: email.messageId, uid: 'alice' });
    expect(email).toMatchObject({ subject: 'Lunch?', configurationSet: 'msgxc-events' });
    expect(email.html).toContain('At noon.');
    const link = new URL(/^<(.+)>$/.exec(email.headers['List-Unsubscribe']!)![1]!);
    expect(verifyUnsubscribe(secret, link.searchParams)).toEqual({ uid: 'alice', tid: 'thread-1' });
  });

  it('four times MaxSendRate at once: every e-mail still goes out, none rejected or given up', async () => {
    const batch = batchFor(
      Array.from({ length: 16 }, (_, index) => ({
        uid: `r${index}`,
        device: addressDevice('email', `r${index}@example.test`),
      })),
      { msg: 'many' },
    );
    await world.publish('deliver.email', batch);
    const sent = await Promise.all(batch.recipients.map((recipient) => sentEvent(recipient.deliveryId)));
    expect(sent).toHaveLength(16);
    expect(
      world.events.values.filter(
        (event) => event.type === 'rejected' || (event.type === 'failed' && event.reason === 'RETRIES_EXHAUSTED'),
      ),
    ).toEqual([]);
  });

  it('SES down: the batch fails over to SMTP', async () => {
    await sesTakingMail();
    ses.down = true;
    try {
      const batch = batchFor([{ uid: 'bob', device: addressDevice('email', 'bob@example.test') }], {
        subject: 'Failover',
        msg: 'via SMTP',
      });
      await world.publish('deliver.email', batch);
      const sent = await sentEvent(batch.recipients[0]!.deliveryId);
      expect(sent.provider).toBe('smtp');
      const email = smtp.emails.find((candidate) => candidate.to[0] === 'bob@example.test')!;
      expect(email.headers.get('subject')).toBe('Failover');
      expect(email.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    } finally {
      ses.down = false;
    }
  });

  it('an unknown mailbox (SMTP 550 5.1.1) is rejected and the address removed from the user', async () => {
    const address = 'gone@example.test';
    await world.users.enlistDevice('carol', { channel: 'email', address });
    const id = deviceId({ channel: 'email', address });
    smtp.unknownMailboxes.add(address);
    ses.down = true;
    try {
      const batch = batchFor([{ uid: 'carol', device: addressDevice('email', address, id) }], { msg: 'hello' });
      await world.publish('deliver.email', batch);
      const rejected = await eventually('a rejected event', () =>
        eventsOf(batch.recipients[0]!.deliveryId).find((event) => event.type === 'rejected'),
      );
      expect(rejected).toMatchObject({ provider: 'smtp', providerCode: '550' });
      await eventually('the address removed', async () =>
        (await world.users.devicesOf('carol', 'email')).length === 0 ? true : undefined,
      );
      // The stage removes the address before the runtime produces the audience change.
      const change = await eventually('the audience change', () =>
        world.audience.values.find((value) => value.uid === 'carol'),
      );
      expect(change).toMatchObject({ type: 'remove_device', device: { id } });
    } finally {
      ses.down = false;
    }
  });
});
