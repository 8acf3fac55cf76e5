import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { defaultLimits } from '../../pipeline/contract/ingest.ts';
import { defineStage } from '../../pipeline/runtime/index.ts';
import { scheduleWriter } from '../../pipeline/schedule/claims.ts';
import { createDedupStore } from '../../pipeline/store/dedup.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { cacheThreads } from '../../pipeline/store/thread-cache.ts';
import { laneTopics } from '../../pipeline/topics/lanes.ts';
import type { IngestRequest } from '../../schemas/types.generated.ts';
import { type PrioritizeDeps, prioritizeBatch, STAGE } from './handler.ts';

/**
 * prioritize: ingest → lane.1 … lane.4 (and `events` for expired, repeated and scheduled requests). See
 * handler.ts for the order of checks and why de-duplication cannot lose a message.
 */

export { prioritizeBatch } from './handler.ts';

type Deps = PrioritizeDeps & { close: () => Promise<void> };

export const stage = defineStage<IngestRequest | null, Deps>({
  name: STAGE,
  input: ['ingest'],
  output: [...laneTopics, 'events'],
  async setup(config) {
    const cassandra = createCassandra(config);
    return {
      // The dedup store's `admit(requestId, origin)` is the gate: first sighting or the same record again.
      gate: createDedupStore(cassandra),
      schedule: scheduleWriter(createScheduleStore(cassandra)),
      threads: cacheThreads(createThreadStore(cassandra)),
      limits: { ...defaultLimits, messageMaxBytes: config.http.messageMaxBytes },
      async close() {
        await cassandra.shutdown();
      },
    };
  },
  handler: (batch, { deps }) => prioritizeBatch(batch, deps),
});
