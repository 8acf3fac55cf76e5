import { randomBytes } from 'node:crypto';
import type { Config } from '../../pipeline/config/index.ts';
import { Secret } from '../../pipeline/config/messaging.ts';
import { type SesFake, startSesFake } from './ses.ts';
import { startTwilioFake, type TwilioFake } from './twilio.ts';

/**
 * The SMS and e-mail half of the provider sandbox (`sandbox.ts`): a channel with no provider configured is
 * pointed at the local Twilio (which reports each text delivered to the facade's status callback, signed)
 * or the local SES, with throw-away credentials. A channel with credentials goes to its real provider.
 */

export interface MessagingSandbox {
  messaging: Config['messaging'];
  channels: string[];
  /** What the local servers received, newest last, in the sandbox page's shape. */
  received(): { provider: string; at: number; target: string; payload: unknown; status: number }[];
  close(): Promise<void>;
}

export async function startMessagingSandbox(config: Config): Promise<MessagingSandbox> {
  const { sms, email } = config.messaging;
  let twilio: TwilioFake | undefined;
  let ses: SesFake | undefined;
  const messaging = { ...config.messaging, sms: { ...sms }, email: { ...email } };
  if (sms.twilio === null && sms.sns === null) {
    twilio = await startTwilioFake({ autoDeliver: true });
    messaging.sms.twilio = {
      accountSid: twilio.accountSid,
      authToken: new Secret(twilio.authToken),
      messagingServiceSid: `MG${randomBytes(16).toString('hex')}`,
      from: null,
      apiUrl: twilio.url,
      segmentsPerSecond: 10,
    };
  }
  if (email.ses === null && email.smtp === null) {
    ses = await startSesFake({ maxSendRate: 14 });
    messaging.email.ses = {
      region: 'us-east-1',
      accessKeyId: ses.credentials.accessKeyId,
      secretAccessKey: new Secret(ses.credentials.secretAccessKey),
      endpoint: ses.url,
      perSecond: 14,
      configurationSet: 'msgxc-sandbox',
    };
  }
  return {
    messaging,
    channels: [...(twilio ? ['sms'] : []), ...(ses ? ['email'] : [])],
    received: () => [
      ...(twilio?.received ?? []).map((text) => ({
        provider: 'twilio',
        at: text.receivedAt,
        target: text.to,
        payload: {
          body: text.body,
          messagingServiceSid: text.messagingServiceSid,
          statusCallback: text.statusCallback,
        },
        status: 201,
      })),
      ...(ses?.emails ?? []).map((mail) => ({
        provider: 'ses',
        at: mail.receivedAt,
        target: mail.to.join(', '),
        payload: { subject: mail.subject, text: mail.text, headers: mail.headers },
        status: 200,
      })),
    ],
    async close() {
      await Promise.all([twilio?.close(), ses?.close()]);
    },
  };
}
