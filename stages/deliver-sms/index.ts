import type { MessagingConfig } from '../../pipeline/config/index.ts';
import { type ChannelSetup, createDeliveryStage, type ProviderSpec } from '../../pipeline/delivery/index.ts';
import { createSnsAdapter } from './sns.ts';
import { createTwilioAdapter } from './twilio.ts';

/**
 * `deliver.sms`: texts through Twilio, failing over to Amazon SNS (or the other way round: MSGXC_SMS_PRIMARY).
 * A provider without credentials is left out; with neither the channel is disabled and its deliveries
 * become `skipped` events. STOP (Twilio 21610) rejects and prunes the number, which is the user's SMS opt-out.
 */

export function smsSetup(messaging: MessagingConfig): ChannelSetup {
  const { twilio, sns, primary } = messaging.sms;
  const providers: ProviderSpec[] = [];
  if (twilio)
    providers.push({ adapter: createTwilioAdapter(twilio, messaging.publicUrl), perSecond: twilio.segmentsPerSecond });
  if (sns) providers.push({ adapter: createSnsAdapter(sns), perSecond: sns.perSecond });
  if (primary === 'sns') providers.reverse();
  return providers.length > 0
    ? { providers }
    : {
        providers,
        disabledReason:
          'no SMS provider configured (MSGXC_TWILIO_ACCOUNT_SID, MSGXC_TWILIO_AUTH_TOKEN and a sender, or MSGXC_AWS_ACCESS_KEY_ID and MSGXC_AWS_SECRET_ACCESS_KEY)',
      };
}

export const stage = createDeliveryStage({ channel: 'sms', setup: async (config) => smsSetup(config.messaging) });
