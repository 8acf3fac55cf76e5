import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { AwsSettings } from '../../pipeline/config/messaging.ts';
import { awsThrottled, readAwsError } from '../../pipeline/delivery/aws.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { smsOf } from './text.ts';

/**
 * SMS through Amazon SNS `Publish` to a phone number, the failover of Twilio. Urgency 3–4 go as
 * Transactional (carrier priority), 1–2 as Promotional (cheaper). The SDK's retries stay off: the shared
 * policy retries.
 */

const defaultThrottleMs = 1000;
const rejectedErrors = new Set(['InvalidParameterException', 'InvalidParameterValueException', 'OptedOutException']);

export function createSnsClient(settings: AwsSettings): SNSClient {
  return new SNSClient({
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
}

export function createSnsAdapter(settings: AwsSettings): ProviderAdapter {
  const client = createSnsClient(settings);

  async function sendOne(message: OutgoingMessage): Promise<Outcome> {
    const { recipient, batch } = message;
    const deliveryId = recipient.deliveryId;
    const sms = smsOf(message);
    if ('rejected' in sms) return sms.rejected;
    const { to, body, segments } = sms;
    try {
      const published = await client.send(
        new PublishCommand({
          PhoneNumber: to,
          Message: body,
          MessageAttributes: {
            'AWS.SNS.SMS.SMSType': {
              DataType: 'String',
              StringValue: batch.urgency >= 3 ? 'Transactional' : 'Promotional',
            },
          },
        }),
      );
      return { deliveryId, status: 'sent', providerMessageId: published.MessageId, providerCode: '200', segments };
    } catch (error) {
      return { ...snsFailure(error), deliveryId, segments };
    }
  }

  return {
    provider: 'sns',
    channel: 'sms',
    maxBatch: 50,
    send: (messages) => Promise.all(messages.map(sendOne)),
    async close() {
      client.destroy();
    },
  };
}

/** An SNS error as an outcome (without its delivery id). */
export function snsFailure(error: unknown): Omit<Outcome, 'deliveryId'> {
  const failure = readAwsError(error, ['ThrottledException', 'ThrottlingException']);
  if (failure.throttled) return awsThrottled(error, failure, defaultThrottleMs);
  const { name, providerCode, detail } = failure;
  if (name === 'OptedOutException') return { status: 'rejected', providerCode, suppress: true, prune: true, detail };
  if (name !== undefined && rejectedErrors.has(name)) return { status: 'rejected', providerCode, detail };
  return { status: 'failed', providerCode, detail };
}
