import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../pipeline/config/messaging.ts';
import { isProviderFault } from '../../pipeline/delivery/index.ts';
import { verifyUnsubscribe } from '../../pipeline/feedback/index.ts';
import { type SesFake, startSesFake } from '../../stack/providers/ses.ts';
import { type SmtpFake, startSmtpFake } from '../../stack/providers/smtp.ts';
import { createSesAdapter, emailTags, tagValue } from '../../stages/deliver-email/ses.ts';
import { createSmtpAdapter } from '../../stages/deliver-email/smtp.ts';
import { addressDevice, batchFor, outgoing, signal } from './support/messaging-batches.ts';

/** The e-mail adapters with their real clients (@aws-sdk/client-sesv2, nodemailer) against local servers. */

let ses: SesFake;
let smtp: SmtpFake;
const secret = 'email-adapter-tests-unsubscribe-secret-0123456789';
const content = { publicUrl: 'https://msgxc.test', unsubscribeSecret: secret, from: 'msgxc <no-reply@msgxc.test>' };

beforeAll(async () => {
  ses = await startSesFake({ maxSendRate: 5 });
  smtp = await startSmtpFake();
});
afterAll(async () => {
  await Promise.all([ses.close(), smtp.close()]);
});

const sesAdapter = () =>
  createSesAdapter(
    {
      region: 'eu-west-1',
      accessKeyId: ses.credentials.accessKeyId,
      secretAccessKey: new Secret(ses.credentials.secretAccessKey),
      endpoint: ses.url,
      perSecond: 5,
    },
    { ...content, configurationSet: 'msgxc-events' },
  );
const smtpAdapter = () => createSmtpAdapter({ url: new Secret(smtp.url), perSecond: 10 }, content);

describe('SES v2 through @aws-sdk/client-sesv2', () => {
  it('sends HTML and text from the templates, the configuration set, tags naming the delivery, and one-click unsubscribe', async () => {
    const adapter = sesAdapter();
    const batch = batchFor([{ uid: 'alice', device: addressDevice('email', 'alice@example.test') }], {
      tid: 'thread-7',
      subject: 'Standup <moved>',
      msg: 'We meet at 10.\n\nBring <coffee> & notes.',
    });
    const [outcome] = await adapter.send(outgoing(batch), signal());
    await adapter.close();
    expect(ses.refused).toEqual([]);
    const email = ses.emails.at(-1)!;
    expect(outcome).toMatchObject({ status: 'sent', providerMessageId: email.messageId });
    expect(email).toMatchObject({
      from: 'msgxc <no-reply@msgxc.test>',
      to: ['alice@example.test'],
      subject: 'Standup <moved>',
    });
    expect(email.configurationSet).toBe('msgxc-events');
    expect(email.tags[emailTags.deliveryId]).toBe(tagValue(batch.recipients[0]!.deliveryId));
    expect(email.tags[emailTags.uid]).toBe(tagValue('alice'));
    expect(email.html).toContain('Standup &lt;moved&gt;');
    expect(email.html).toContain('Bring &lt;coffee&gt; &amp; notes.');
    expect(email.text).toContain('Bring <coffee> & notes.');
    expect(email.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const link = new URL(/^<(.+)>$/.exec(email.headers['List-Unsubscribe']!)![1]!);
    expect(link.origin + link.pathname).toBe('https://msgxc.test/api/v1/list-unsubscribe');
    expect(verifyUnsubscribe(secret, link.searchParams)).toEqual({ uid: 'alice', tid: 'thread-7' });
    expect(email.text).toContain(link.href);
  });

  it('past MaxSendRate SES answers 429 TooManyRequests: throttled, never rejected', async () => {
    const adapter = sesAdapter();
    const batch = batchFor(
      Array.from({ length: 12 }, (_, index) => ({
        uid: `u${index}`,
        device: addressDevice('email', `u${index}@example.test`),
      })),
    );
    const outcomes = await adapter.send(outgoing(batch), signal());
    await adapter.close();
    const statuses = outcomes.map((outcome) => outcome.status);
    expect(statuses).toContain('throttled');
    expect(statuses.filter((status) => status !== 'sent' && status !== 'throttled')).toEqual([]);
    expect(outcomes.find((outcome) => outcome.status === 'throttled')).toMatchObject({
      providerCode: 'TooManyRequestsException',
      retryAfterMs: expect.any(Number),
    });
    expect(ses.throttled).toBeGreaterThan(0);
  });

  it('MessageRejected is a rejection; an outage is a 503 the breaker counts', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the fake's send-rate bucket refills
    ses.rejected.add('bad@example.test');
    const adapter = sesAdapter();
    const [rejected] = await adapter.send(
      outgoing(batchFor([{ uid: 'b', device: addressDevice('email', 'bad@example.test') }])),
      signal(),
    );
    ses.down = true;
    const [down] = await adapter.send(
      outgoing(batchFor([{ uid: 'c', device: addressDevice('email', 'c@example.test') }])),
      signal(),
    );
    ses.down = false;
    await adapter.close();
    expect(rejected).toMatchObject({ status: 'rejected', providerCode: 'MessageRejected' });
    expect(down).toMatchObject({ status: 'failed', providerCode: '503' });
    expect(isProviderFault(down!)).toBe(true);
  });
});

describe('SMTP through nodemailer', () => {
  it('delivers over an authenticated session with both bodies and the RFC 8058 headers', async () => {
    const adapter = smtpAdapter();
    const batch = batchFor([{ uid: 'bob', device: addressDevice('email', 'bob@example.test') }], {
      tid: null,
      msg: 'Hi Bob',
    });
    const [outcome] = await adapter.send(outgoing(batch), signal());
    await adapter.close();
    expect(outcome).toMatchObject({ status: 'sent', providerCode: '250' });
    const email = smtp.emails.at(-1)!;
    expect(email.to).toEqual(['bob@example.test']);
    expect(email.headers.get('subject')).toBe('Hi Bob');
    expect(email.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const link = new URL(/^<(.+)>$/.exec(email.headers.get('list-unsubscribe')!)![1]!);
    expect(verifyUnsubscribe(secret, link.searchParams)).toEqual({ uid: 'bob', tid: null });
    expect(email.raw).toContain('text/plain');
    expect(email.raw).toContain('text/html');
  });

  it('550 5.1.1 rejects and suppresses the address; a refused connection is a transient failure', async () => {
    smtp.unknownMailboxes.add('gone@example.test');
    const adapter = smtpAdapter();
    const [gone] = await adapter.send(
      outgoing(batchFor([{ uid: 'g', device: addressDevice('email', 'gone@example.test') }])),
      signal(),
    );
    await adapter.close();
    expect(gone).toMatchObject({ status: 'rejected', providerCode: '550', suppress: true, prune: true });
    const closed = createSmtpAdapter({ url: new Secret('smtp://u:p@127.0.0.1:1'), perSecond: 1 }, content);
    const [refused] = await closed.send(
      outgoing(batchFor([{ uid: 'g', device: addressDevice('email', 'x@example.test') }])),
      signal(),
    );
    await closed.close();
    expect(refused!.status).toBe('failed');
    expect(isProviderFault(refused!)).toBe(true);
  });
});
