import { createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { type CpuPressure, createCpuPressure } from '../../pipeline/concurrency/cpu-pressure.ts';
import { createPacer, type PacerOptions } from '../../pipeline/concurrency/pacer.ts';
import { type Config, ConfigError } from '../../pipeline/config/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
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
      const pacer = pacing && urgencyRankOf(lane.topic) === 0 ? createPacer(bulkPacerOptions(pacing, log)) : undefined;
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

/**
 * The bulk lane's pacer: slow pages, and CPU pressure above the limit where the kernel tells it. A pressure
 * file named in the environment must be readable (a typo would otherwise turn the signal off in silence); the
 * machine's may be missing, and the lane then paces on page latency alone, which the log says once.
 */
export function bulkPacerOptions(
  pacing: NonNullable<Config['fanout']['bulkPacing']>,
  log: Pick<Logger, 'info' | 'warn'>,
  read: (path?: string) => CpuPressure | null = (path) => createCpuPressure(path === undefined ? {} : { path }),
): PacerOptions {
  const { cpuPressureLimit, cpuPressureFile, ...latency } = pacing;
  if (cpuPressureLimit === 0) return latency;
  const pressure = read(cpuPressureFile ?? undefined);
  if (!pressure && cpuPressureFile !== null) {
    throw new ConfigError([
      { variable: 'MSGXC_FANOUT_BULK_CPU_PRESSURE_FILE', message: `no CPU pressure information in ${cpuPressureFile}` },
    ]);
  }
  if (!pressure) {
    log.warn('this kernel gives no CPU pressure information: the bulk lane paces on search page latency only');
    return latency;
  }
  log.info({ cpuPressureFile: pressure.path, cpuPressureLimit }, 'the bulk lane also paces on CPU pressure');
  return { ...latency, busy: () => pressure.read() > cpuPressureLimit };
}
