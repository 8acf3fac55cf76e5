import { createDeliveryStage } from '../../pipeline/delivery/index.ts';
import { createApnsAdapter } from './adapter.ts';

/** deliver.apns: Apple Push Notification service over HTTP/2 with token auth (.p8), under the shared provider policy. */
export const stage = createDeliveryStage({
  channel: 'apns',
  async setup(config) {
    const settings = config.delivery.apns;
    if (settings.token === null || settings.topic === null) {
      return {
        providers: [],
        disabledReason:
          'no APNs token key (MSGXC_APNS_KEY_FILE, MSGXC_APNS_KEY_ID, MSGXC_APNS_TEAM_ID, MSGXC_APNS_TOPIC)',
      };
    }
    const adapter = createApnsAdapter({
      ...settings.token,
      topic: settings.topic,
      production: settings.production,
      address: settings.address,
      caFile: settings.caFile,
      requestTimeoutMs: config.delivery.policy.timeoutMs,
    });
    return { providers: [{ adapter, perSecond: settings.perSecond }] };
  },
});
