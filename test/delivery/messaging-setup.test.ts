import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../pipeline/config/index.ts';
import { emailSetup } from '../../stages/deliver-email/index.ts';
import { smsSetup } from '../../stages/deliver-sms/index.ts';

const twilio = {
  MSGXC_TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
  MSGXC_TWILIO_AUTH_TOKEN: 'twilio-token-value',
  MSGXC_TWILIO_FROM: '+15005550006',
};
const aws = { MSGXC_AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', MSGXC_AWS_SECRET_ACCESS_KEY: 'aws-secret-value' };

describe('SMS and e-mail channel setup', () => {
  it('orders providers by the configured primary', async () => {
    const twilioFirst = smsSetup(parseConfig({ ...twilio, ...aws }).messaging);
    expect(twilioFirst.providers.map((spec) => spec.adapter.provider)).toEqual(['twilio', 'sns']);
    const snsFirst = smsSetup(parseConfig({ ...twilio, ...aws, MSGXC_SMS_PRIMARY: 'sns' }).messaging);
    expect(snsFirst.providers.map((spec) => spec.adapter.provider)).toEqual(['sns', 'twilio']);
    const smtpFirst = emailSetup(
      parseConfig({ ...aws, MSGXC_SMTP_URL: 'smtp://u:p@127.0.0.1:2525', MSGXC_EMAIL_PRIMARY: 'smtp' }).messaging,
    );
    expect(smtpFirst.providers.map((spec) => spec.adapter.provider)).toEqual(['smtp', 'ses']);
    await Promise.all(
      [...twilioFirst.providers, ...snsFirst.providers, ...smtpFirst.providers].map((spec) => spec.adapter.close()),
    );
  });

  it('without credentials the channels are disabled with a reason naming the settings', () => {
    const config = parseConfig({});
    expect(smsSetup(config.messaging)).toMatchObject({
      providers: [],
      disabledReason: expect.stringContaining('MSGXC_TWILIO_ACCOUNT_SID'),
    });
    expect(emailSetup(config.messaging)).toMatchObject({
      providers: [],
      disabledReason: expect.stringContaining('MSGXC_SMTP_URL'),
    });
  });

  it('in production e-mail needs its own unsubscribe key', () => {
    const config = parseConfig({
      MSGXC_ENV: 'production',
      MSGXC_JWT_SECRET: 'x'.repeat(40),
      MSGXC_SMTP_URL: 'smtp://u:p@h:25',
    });
    expect(emailSetup(config.messaging)).toMatchObject({
      providers: [],
      disabledReason: expect.stringContaining('MSGXC_UNSUBSCRIBE_SECRET'),
    });
  });

  it('never prints a credential: secrets serialise, inspect and stringify as [redacted]', async () => {
    const { inspect } = await import('node:util');
    const config = parseConfig({ ...twilio, ...aws, MSGXC_SMTP_URL: 'smtp://user:hunter2@127.0.0.1:25' });
    const printed = [
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      String(config.messaging.sms.twilio?.authToken),
    ].join('\n');
    for (const secret of ['twilio-token-value', 'aws-secret-value', 'hunter2']) expect(printed).not.toContain(secret);
  });
});
