import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { defaultLimits } from '../../pipeline/contract/ingest.ts';
import { createPartitionReader } from '../../pipeline/kafka/partition-reader.ts';
import { defineStage } from '../../pipeline/runtime/index.ts';
import { scheduleWriter } from '../../pipeline/schedule/claims.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { createDedupStore } from '../../pipeline/store/dedup.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import { createSightingLog, type SightingRecord } from '../../pipeline/store/sightings.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { cacheThreads } from '../../pipeline/store/thread-cache.ts';
import { laneTopics } from '../../pipeline/topics/lanes.ts';
import { topicName, topicSpec } from '../../pipeline/topics/topology.ts';
import type { IngestRequest } from '../../schemas/types.generated.ts';
import {
  DEDUP_WINDOW_SECONDS,
  type PrioritizeDeps,
  prioritizeBatch,
  type RequestGate,
  SIGHTINGS,
  STAGE,
} from './handler.ts';

/**
 * prioritize: ingest → lane.1 … lane.4 (and `events` for expired, repeated and scheduled requests). See
 * handler.ts for the order of checks and why de-duplication cannot lose a message.
 */

export { prioritizeBatch } from './handler.ts';

type Deps = PrioritizeDeps & { close: () => Promise<void>; assigned?: (partitions: number[]) => void };

/**
 * The request-id gate: by default the sightings log (pipeline/store/sightings.ts, no Cassandra round trip);
 * `MSGXC_PRIORITIZE_DEDUP=cassandra` keeps the conditional batches of pipeline/store/dedup.ts.
 */
function requestGate(config: Config, cassandra: ReturnType<typeof createCassandra>) {
  if (config.runtime.requestDedup === 'cassandra') {
    return { gate: createDedupStore(cassandra) as RequestGate, close: () => Promise.resolve(), assigned: undefined };
  }
  const reader = createPartitionReader(config);
  const serde = createSerde(config);
  const topic = topicName(config, SIGHTINGS);
  const log = createSightingLog({
    partitions: topicSpec('ingest').partitions,
    windowMs: DEDUP_WINDOW_SECONDS * 1000,
    read: (partition, from, onRecords) => reader.readToEnd(topic, partition, from, onRecords),
    decode: async (value) => (await serde.decode(value)) as SightingRecord,
  });
  const gate: RequestGate = {
    admit: async (requestId, origin) => (await log.admitMany([{ requestId, origin }]))[0] === true,
    admitMany: (sightings) => log.admitMany(sightings),
    marks: (admitted) => log.marks(admitted),
  };
  return { gate, close: () => reader.close(), assigned: (partitions: number[]) => log.assigned(partitions) };
}

export const stage = defineStage<IngestRequest | null, Deps>({
  name: STAGE,
  input: ['ingest'],
  output: [...laneTopics, 'events', SIGHTINGS],
  async setup(config) {
    const cassandra = createCassandra(config);
    const { gate, close, assigned } = requestGate(config, cassandra);
    return {
      // The gate's `admit(requestId, origin)`: first sighting or the same record again.
      gate,
      schedule: scheduleWriter(createScheduleStore(cassandra)),
      threads: cacheThreads(createThreadStore(cassandra)),
      limits: { ...defaultLimits, messageMaxBytes: config.http.messageMaxBytes },
      assigned,
      async close() {
        await close();
        await cassandra.shutdown();
      },
    };
  },
  // The sightings of the ingest partitions this member now holds may have been written by another member.
  assigned: (assignment, deps) => deps.assigned?.(assignment.ingest ?? []),
  handler: (batch, { deps }) => prioritizeBatch(batch, deps),
});
