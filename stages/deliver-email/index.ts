import type { MessagingConfig } from '../../pipeline/config/index.ts';
import { type ChannelSetup, createDeliveryStage, type ProviderSpec } from '../../pipeline/delivery/index.ts';
import { createSesAdapter } from './ses.ts';
import { createSmtpAdapter } from './smtp.ts';

/**
 * `deliver.email`: SES v2 failing over to SMTP (or the other way round: MSGXC_EMAIL_PRIMARY), every message
 * rendered from the Liquid templates with a signed one-click unsubscribe link. Without a provider, or
 * without an unsubscribe key in production, the channel is disabled and its deliveries become `skipped` events.
 */

export function emailSetup(messaging: MessagingConfig): ChannelSetup {
  const { ses, smtp, primary, from } = messaging.email;
  if (!messaging.unsubscribeSecret) {
    return {
      providers: [],
      disabledReason: 'no unsubscribe key (MSGXC_UNSUBSCRIBE_SECRET) for the List-Unsubscribe links',
    };
  }
  const content = { publicUrl: messaging.publicUrl, unsubscribeSecret: messaging.unsubscribeSecret.reveal(), from };
  const providers: ProviderSpec[] = [];
  if (ses) {
    providers.push({
      adapter: createSesAdapter(ses, { ...content, configurationSet: ses.configurationSet }),
      perSecond: ses.perSecond,
    });
  }
  if (smtp) providers.push({ adapter: createSmtpAdapter(smtp, content), perSecond: smtp.perSecond });
  if (primary === 'smtp') providers.reverse();
  return providers.length > 0
    ? { providers }
    : {
        providers,
        disabledReason:
          'no e-mail provider configured (MSGXC_AWS_ACCESS_KEY_ID and MSGXC_AWS_SECRET_ACCESS_KEY for SES, or MSGXC_SMTP_URL)',
      };
}

export const stage = createDeliveryStage({ channel: 'email', setup: async (config) => emailSetup(config.messaging) });
