import { createDeliveryStage } from '../../pipeline/delivery/index.ts';
import { createFcmAdapter, quotaBackoffMs } from './sender.ts';

/** deliver.fcm: Firebase Cloud Messaging HTTP v1 over one persistent HTTP/2 session, under the shared provider policy. */
export const stage = createDeliveryStage({
  channel: 'fcm',
  async setup(config) {
    const settings = config.delivery.fcm;
    if (settings.credentialsFile === null) {
      return { providers: [], disabledReason: 'no FCM service account (MSGXC_FCM_CREDENTIALS_FILE)' };
    }
    const adapter = createFcmAdapter({
      credentialsFile: settings.credentialsFile,
      projectId: settings.projectId,
      endpoint: settings.endpoint,
      tokenUrl: settings.tokenUrl,
      caFile: settings.caFile,
    });
    return { providers: [{ adapter, perSecond: settings.perSecond, defaultThrottleMs: quotaBackoffMs }] };
  },
});
