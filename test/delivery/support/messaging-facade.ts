import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { freePort } from '../../../bench/harness/system.ts';
import { type TopicWatch, watchTopic } from '../../../bench/harness/topics.ts';
import type { AudienceChange, DeliveryEvent } from '../../../schemas/types.generated.ts';
import { createHarness, dropTestData, type Harness } from '../../http/support.ts';
import { retryOutage } from './messaging-world.ts';

/**
 * The facade on a real socket (providers post to it) over its own keyspace and topics, with MSGXC_PUBLIC_URL
 * pointing at that socket, and watches on `events` and `audience`.
 */
export interface FacadeWorld {
  harness: Harness;
  publicUrl: string;
  events: TopicWatch<DeliveryEvent>;
  audience: TopicWatch<AudienceChange>;
  close(): Promise<void>;
}

export async function startFacade(extra: Record<string, string>): Promise<FacadeWorld> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const harness = await retryOutage(() => createHarness({ MSGXC_PUBLIC_URL: publicUrl, ...extra }));
  const server = await new Promise<Server>((resolve) => {
    const created = serve({ fetch: harness.app.fetch, hostname: '127.0.0.1', port }, () => resolve(created as Server));
  });
  const events = await watchTopic<DeliveryEvent>(harness.config, 'events');
  const audience = await watchTopic<AudienceChange>(harness.config, 'audience');
  return {
    harness,
    publicUrl,
    events,
    audience,
    async close() {
      await Promise.allSettled([events.stop(), audience.stop()]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await harness.close();
      await retryOutage(() => dropTestData(harness.config));
    },
  };
}
