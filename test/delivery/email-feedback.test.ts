import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { feedbackPaths, unsubscribeUrl } from '../../pipeline/feedback/index.ts';
import { createUserStore, type UserStore } from '../../pipeline/store/user.ts';
import { deviceId } from '../../pipeline/store/user-types.ts';
import { type SnsFake, startSnsFake } from '../../stack/providers/sns.ts';
import { tagValue } from '../../stages/deliver-email/ses.ts';
import { type FacadeWorld, startFacade } from './support/messaging-facade.ts';
import { eventually } from './support/messaging-world.ts';

/**
 * SES feedback through an SNS HTTPS subscription, and the one-click unsubscribe link, at the facade on a
 * real socket: the local SNS signs what it posts with a key whose certificate it serves (its host is the
 * one allow-listed), so the facade verifies real signatures.
 */

let sns: SnsFake;
let facade: FacadeWorld;
let users: UserStore;
let shutdown: () => Promise<void>;
const topicArn = 'arn:aws:sns:eu-west-1:123456789012:msgxc-ses-events';
const secret = 'email-feedback-tests-unsubscribe-secret-0123456789';

beforeAll(async () => {
  sns = await startSnsFake();
  facade = await startFacade({
    MSGXC_SNS_CERT_HOSTS: `127.0.0.1:${sns.port}`,
    MSGXC_SES_FEEDBACK_TOPIC_ARNS: topicArn,
    MSGXC_UNSUBSCRIBE_SECRET: secret,
  });
  const cassandra = createCassandra(facade.harness.config);
  users = createUserStore(cassandra);
  shutdown = () => cassandra.shutdown();
});
afterAll(async () => {
  await shutdown?.();
  await facade?.close();
  await sns?.close();
});

const endpoint = () => `${facade.publicUrl}${feedbackPaths.sesNotifications}`;

function sesEvent(kind: 'Bounce' | 'Complaint', address: string, uid: string, extra: Record<string, unknown>) {
  return {
    eventType: kind,
    mail: {
      messageId: `ses-${Math.random().toString(36).slice(2)}`,
      destination: [address],
      tags: {
        'msgxc-delivery': [tagValue(`m1:${uid}:x`)],
        'msgxc-message': [tagValue('m1')],
        'msgxc-user': [tagValue(uid)],
      },
    },
    ...extra,
  };
}

async function enlist(uid: string, address: string) {
  await users.enlistDevice(uid, { channel: 'email', address });
  return deviceId({ channel: 'email', address });
}

const eventFor = (uid: string, type: string) =>
  eventually(`${type} for ${uid}`, () =>
    facade.events.values.find((event) => event.uid === uid && event.type === type),
  );

describe('SES feedback through SNS', () => {
  it('confirms the subscription through its SubscribeURL', async () => {
    const answer = await sns.subscribe(endpoint(), topicArn);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ confirmed: true });
    expect(sns.confirmed.size).toBe(1);
  });

  it('a permanent bounce becomes a bounced event and suppresses the address', async () => {
    const id = await enlist('alice', 'alice@example.test');
    const bounce = sesEvent('Bounce', 'alice@example.test', 'alice', {
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [{ emailAddress: 'alice@example.test', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
      },
    });
    const answer = await sns.notify(endpoint(), topicArn, bounce);
    expect(answer.status).toBe(200);
    expect(await eventFor('alice', 'bounced')).toMatchObject({
      deliveryId: 'm1:alice:x',
      messageId: 'm1',
      channel: 'email',
      deviceId: id,
      provider: 'ses',
      providerCode: 'Permanent/General',
      reason: 'HARD_BOUNCE',
    });
    expect(await users.devicesOf('alice', 'email')).toEqual([]);
    expect(await users.deadDevicesOf('alice')).toMatchObject([{ channel: 'email', id, reason: 'HARD_BOUNCE' }]);
    await eventually('the audience change', () =>
      facade.audience.values.find((value) => value.uid === 'alice' && value.type === 'remove_device'),
    );
  });

  it('a transient bounce is recorded and the address kept', async () => {
    await enlist('bob', 'bob@example.test');
    const bounce = sesEvent('Bounce', 'bob@example.test', 'bob', {
      bounce: {
        bounceType: 'Transient',
        bounceSubType: 'MailboxFull',
        bouncedRecipients: [{ emailAddress: 'bob@example.test' }],
      },
    });
    expect((await sns.notify(endpoint(), topicArn, bounce)).status).toBe(200);
    expect(await eventFor('bob', 'bounced')).toMatchObject({
      reason: 'SOFT_BOUNCE',
      providerCode: 'Transient/MailboxFull',
    });
    expect(await users.devicesOf('bob', 'email')).toHaveLength(1);
  });

  it('a complaint becomes a complained event and suppresses the address', async () => {
    await enlist('carol', 'carol@example.test');
    const complaint = sesEvent('Complaint', 'carol@example.test', 'carol', {
      complaint: { complaintFeedbackType: 'abuse', complainedRecipients: [{ emailAddress: 'carol@example.test' }] },
    });
    expect((await sns.notify(endpoint(), topicArn, complaint)).status).toBe(200);
    expect(await eventFor('carol', 'complained')).toMatchObject({ reason: 'COMPLAINT', providerCode: 'abuse' });
    expect(await users.devicesOf('carol', 'email')).toEqual([]);
  });

  it('refuses a tampered message, a certificate from a host not allowed, and a topic not configured', async () => {
    await enlist('dave', 'dave@example.test');
    const bounce = sesEvent('Bounce', 'dave@example.test', 'dave', {
      bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'dave@example.test' }] },
    });
    expect((await sns.notify(endpoint(), topicArn, bounce, { tamper: true })).status).toBe(403);
    expect((await sns.notify(endpoint(), 'arn:aws:sns:eu-west-1:999999999999:other', bounce)).status).toBe(403);
    const forged = {
      Type: 'Notification',
      MessageId: 'x',
      TopicArn: topicArn,
      Message: JSON.stringify(bounce),
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      Signature: 'AAAA',
      SigningCertURL: 'https://sns.attacker.example/cert.pem',
    };
    const answer = await fetch(endpoint(), {
      method: 'POST',
      body: JSON.stringify(forged),
      headers: { 'content-type': 'text/plain' },
    });
    expect(answer.status).toBe(403);
    expect((await fetch(endpoint(), { method: 'POST', body: 'not json' })).status).toBe(400);
    expect(await users.devicesOf('dave', 'email')).toHaveLength(1);
    expect(facade.events.values.filter((event) => event.uid === 'dave')).toEqual([]);
  });
});

describe('one-click unsubscribe (RFC 8058)', () => {
  it('the signed link opts the user out of the thread with a POST and no login; GET only asks', async () => {
    const link = unsubscribeUrl(facade.publicUrl, secret, { uid: 'erin', tid: 'thread-9' });
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect((await users.preferencesOf('erin')).threads).toEqual({});
    const answer = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(answer.status).toBe(200);
    expect((await users.preferencesOf('erin')).threads).toEqual({ 'thread-9': ['~'] });
    const change = await eventually('the preferences change', () =>
      facade.audience.values.find((value) => value.uid === 'erin' && value.type === 'preferences'),
    );
    expect(change.preferences).toMatchObject({ tid: 'thread-9', optOut: true });
  });

  it('rejects a forged signature (403) and a link without one (400), changing nothing', async () => {
    const link = new URL(unsubscribeUrl(facade.publicUrl, secret, { uid: 'frank', tid: 'thread-9' }));
    link.searchParams.set('u', 'grace');
    const forged = await fetch(link, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect(forged.status).toBe(403);
    const otherKey = unsubscribeUrl(facade.publicUrl, `${secret}-other`, { uid: 'grace', tid: null });
    expect((await fetch(otherKey, { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status).toBe(403);
    link.searchParams.delete('s');
    const unsigned = await fetch(link, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ error: 'INVALID_REQUEST' });
    expect(await users.preferencesOf('grace')).toEqual({ global: null, threads: {} });
  });
});
