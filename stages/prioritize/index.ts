import { Counter, Gauge } from 'prom-client';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { defaultLimits } from '../../pipeline/contract/ingest.ts';
import { createPartitionReader } from '../../pipeline/kafka/partition-reader.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { registry } from '../../pipeline/metrics/index.ts';
import { defineStage } from '../../pipeline/runtime/index.ts';
import { scheduleWriter } from '../../pipeline/schedule/claims.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { createDedupStore } from '../../pipeline/store/dedup.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import { createSightingLog, type SightingLog, type SightingRecord } from '../../pipeline/store/sightings.ts';
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
function requestGate(config: Config, cassandra: ReturnType<typeof createCassandra>, log: Logger) {
  if (config.runtime.requestDedup === 'cassandra') {
    return { gate: createDedupStore(cassandra) as RequestGate, close: () => Promise.resolve(), assigned: undefined };
  }
  const reader = createPartitionReader(config);
  const serde = createSerde(config);
  const topic = topicName(config, SIGHTINGS);
  const sightings = createSightingLog({
    partitions: topicSpec('ingest').partitions,
    windowMs: DEDUP_WINDOW_SECONDS * 1000,
    read: (partition, from, onRecords) => reader.readToEnd(topic, partition, from, onRecords),
    decode: async (value) => (await serde.decode(value)) as SightingRecord,
    onRead: ({ partition, from, to, records, ms }) => {
      sightingsRead.inc(records);
      // A restore (from the start) is worth a line; the catch-ups after a rebalance only when they found something.
      if (from === 0n || records > 0) {
        log.info(
          { partition, from: String(from), to: String(to), records, ms: Math.round(ms) },
          'read request sightings',
        );
      }
    },
  });
  live.add(sightings);
  const gate: RequestGate = {
    admit: async (requestId, origin) => (await sightings.admitMany([{ requestId, origin }]))[0] === true,
    admitMany: (items) => sightings.admitMany(items),
    marks: (admitted) => sightings.marks(admitted),
  };
  return {
    gate,
    close: () => {
      live.delete(sightings);
      return reader.close();
    },
    assigned: (partitions: number[]) => sightings.assigned(partitions),
  };
}

/** The sightings logs of the prioritize stages running in this process (tests run two). */
const live = new Set<SightingLog>();

new Gauge({
  name: 'msgxc_prioritize_request_ids',
  help: 'Request ids prioritize remembers in memory (the sightings of the last 24 h on its partitions).',
  registers: [registry],
  collect() {
    let total = 0;
    for (const sightings of live) total += sightings.size();
    this.set(total);
  },
});

const sightingsRead = new Counter({
  name: 'msgxc_prioritize_sightings_read_total',
  help: 'Records read back from prioritize.sightings when given a partition (restores and catch-ups).',
  registers: [registry],
});

export const stage = defineStage<IngestRequest | null, Deps>({
  name: STAGE,
  input: ['ingest'],
  output: [...laneTopics, 'events', SIGHTINGS],
  async setup(config, log) {
    const cassandra = createCassandra(config);
    const { gate, close, assigned } = requestGate(config, cassandra, log);
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
