import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { AwsSettings } from '../../pipeline/config/messaging.ts';
import { awsThrottled, readAwsError } from '../../pipeline/delivery/aws.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { type ContentOptions, renderEmail } from './content.ts';

/**
 * E-mail through SES v2 `SendEmail`, one recipient per call (each message carries its own unsubscribe
 * link). The configuration set routes SES's bounce/complaint events to the SNS topic whose HTTPS
 * subscription is the facade; the tags let those events name the delivery. The SDK's retries stay off.
 */

const defaultThrottleMs = 1000;
/** Tag values allow letters, digits, `_` and `-` only. */
export const tagValue = (value: string) => Buffer.from(value).toString('base64url');
export const emailTags = { deliveryId: 'msgxc-delivery', messageId: 'msgxc-message', uid: 'msgxc-user' } as const;

export interface SesAdapterOptions extends ContentOptions {
  from: string;
  configurationSet: string | null;
}

export function createSesAdapter(settings: AwsSettings, options: SesAdapterOptions): ProviderAdapter {
  const client = new SESv2Client({
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey.reveal() },
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
      requestTimeout: 15_000,
    },
  });

  async function sendOne(message: OutgoingMessage): Promise<Outcome> {
    const { recipient, batch } = message;
    const deliveryId = recipient.deliveryId;
    const to = recipient.device?.address;
    if (!to) return { deliveryId, status: 'rejected', providerCode: 'NO_ADDRESS', detail: 'the device has no address' };
    const content = renderEmail(message, options);
    try {
      const sent = await client.send(
        new SendEmailCommand({
          FromEmailAddress: options.from,
          Destination: { ToAddresses: [to] },
          Content: {
            Simple: {
              Subject: { Data: content.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: content.text, Charset: 'UTF-8' }, Html: { Data: content.html, Charset: 'UTF-8' } },
              Headers: content.headers.map(({ name, value }) => ({ Name: name, Value: value })),
            },
          },
          ...(options.configurationSet ? { ConfigurationSetName: options.configurationSet } : {}),
          EmailTags: [
            { Name: emailTags.deliveryId, Value: tagValue(deliveryId) },
            { Name: emailTags.messageId, Value: tagValue(batch.messageId) },
            { Name: emailTags.uid, Value: tagValue(recipient.uid) },
          ],
        }),
      );
      return { deliveryId, status: 'sent', providerMessageId: sent.MessageId, providerCode: '200' };
    } catch (error) {
      return { ...sesFailure(error), deliveryId };
    }
  }

  return {
    provider: 'ses',
    channel: 'email',
    maxBatch: 50,
    send: (messages) => Promise.all(messages.map(sendOne)),
    async close() {
      client.destroy();
    },
  };
}

/** An SES v2 error as an outcome (without its delivery id). */
export function sesFailure(error: unknown): Omit<Outcome, 'deliveryId'> {
  const failure = readAwsError(error, ['TooManyRequestsException', 'LimitExceededException']);
  if (failure.throttled) return awsThrottled(error, failure, defaultThrottleMs);
  const { name, providerCode, detail } = failure;
  // Refusals of this message (bad address, content); account-level refusals (paused, suspended, unverified
  // sender, missing configuration set) stay transient: fixing the account lets the retries through.
  if (name === 'MessageRejected' || name === 'BadRequestException') return { status: 'rejected', providerCode, detail };
  return { status: 'failed', providerCode, detail };
}
