import { createDeliveryStage } from '../../pipeline/delivery/index.ts';
import { createEndpointGuard } from '../../pipeline/net/ssrf.ts';
import { createWebPushAdapter } from './adapter.ts';
import { VapidCache } from './vapid.ts';

/** deliver.webpush: Web Push (RFC 8030/8291/8292) through `web-push`, under the shared provider policy. */
export const stage = createDeliveryStage({
  channel: 'webpush',
  async setup(config) {
    const settings = config.delivery.webpush;
    if (settings.vapid === null) {
      return {
        providers: [],
        disabledReason: 'no VAPID keys (MSGXC_WEBPUSH_VAPID_PUBLIC_KEY, MSGXC_WEBPUSH_VAPID_PRIVATE_KEY)',
      };
    }
    const adapter = createWebPushAdapter({
      vapid: new VapidCache(settings.vapid),
      guard: createEndpointGuard({ allowedHosts: config.http.webPushAllowedHosts }),
      concurrency: settings.concurrency,
      caFile: settings.caFile,
    });
    return { providers: [{ adapter, perSecond: settings.perSecond }] };
  },
});
