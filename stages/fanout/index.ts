import { createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createCpuPressure } from '../../pipeline/concurrency/cpu-pressure.ts';
import { createPacer, type PacerOptions } from '../../pipeline/concurrency/pacer.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { defineStage } from '../../pipeline/runtime/index.ts';
import { createEscalationStore } from '../../pipeline/store/escalations.ts';
import { createInboxStore } from '../../pipeline/store/inbox.ts';
import { deliveryTopics, fanoutLanes, urgencyRankOf } from '../../pipeline/topics/lanes.ts';
import type { FanoutJob } from '../../schemas/types.generated.ts';
import { ChannelSymbols } from '../../schemas/types.generated.ts';
import { audienceSourceOf } from './audience.ts';
import { type FanoutDependencies, type FanoutHandlerSettings, handleFanout } from './handler.ts';

/**
 * fanout: expands each fanout job's audience (a page of the audience index at a time) into delivery
 * batches per channel on `deliver.<channel>` (each page's recipients written to their inbox first), with one `queued` event per batch and one `dropped` event
 * per reason, streamed to the runtime as they fill. See handler.ts for streaming and slicing, expand.ts for the paging.
 */

export { fanoutLanes, fanoutTopicFor } from '../../pipeline/topics/lanes.ts';
export { expandJob } from './expand.ts';
export { handleFanout } from './handler.ts';

export function fanoutSettings(config: Config): FanoutHandlerSettings {
  const { fanout } = config;
  return {
    pageSize: fanout.pageSize,
    sliceUsers: fanout.sliceUsers,
    jobsInFlight: fanout.jobsInFlight,
    maxDevicesPerChannel: fanout.maxDevicesPerChannel,
    wsReachability: fanout.wsReachability,
    batchSizes: { ...fanout.batchSizes },
  };
}

function laneStage(lane: (typeof fanoutLanes)[number]) {
  return defineStage<FanoutJob, FanoutDependencies & { close: () => Promise<void> }>({
    name: lane.stage,
    input: [lane.topic],
    // Slices of a large audience go back to the job's own lane.
    output: [lane.topic, 'events', ...ChannelSymbols.flatMap(deliveryTopics)],
    async setup(config, log) {
      const index = createAudienceIndex(config, { log: log.child({ component: 'audience-index' }) });
      // Cassandra holds the recipients' inbox rows and, for plan-fallback jobs, escalation deadlines.
      const cassandra = createCassandra(config);
      const escalations = createEscalationStore(cassandra);
      const inbox = createInboxStore(cassandra);
      // One pacer for the process's walks: they all page the same engine.
      const pacing = config.fanout.bulkPacing;
      const pacer = pacing && urgencyRankOf(lane.topic) === 0 ? createPacer(bulkPacerOptions(pacing)) : undefined;
      return {
        audience: audienceSourceOf(index),
        settings: fanoutSettings(config),
        now: Date.now,
        recordEscalations: (job, entries) => escalations.record(job, entries),
        recordInbox: (entries) => inbox.write(entries),
        recordBroadcast: (entry) => inbox.writeBroadcast(entry),
        ...(pacer ? { pacer } : {}),
        log,
        async close() {
          await Promise.allSettled([index.close(), cassandra.shutdown()]);
        },
      };
    },
    // Streams: the runtime produces the batches as they fill. A shutdown cuts the audience paging short and the
    // runtime abandons the job uncommitted; the next owner redoes it, repeating the same batch ids.
    handler: (batch, { deps, signal }) => handleFanout(batch, { ...deps, signal }),
  });
}

export const [urgentStage, stage, bulkStage] = fanoutLanes.map(laneStage) as [
  ReturnType<typeof laneStage>,
  ReturnType<typeof laneStage>,
  ReturnType<typeof laneStage>,
];

/** The bulk lane's pacer: slow pages, and the machine's CPU pressure above the limit where the kernel tells it. */
function bulkPacerOptions(pacing: NonNullable<Config['fanout']['bulkPacing']>): PacerOptions {
  const { cpuPressureLimit, ...latency } = pacing;
  const pressure = cpuPressureLimit > 0 ? createCpuPressure() : null;
  return pressure ? { ...latency, busy: () => pressure.read() > cpuPressureLimit } : latency;
}
