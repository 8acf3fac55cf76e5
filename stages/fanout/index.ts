import { createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { defineStage } from '../../pipeline/runtime/index.ts';
import type { FanoutJob } from '../../schemas/types.generated.ts';
import { ChannelSymbols } from '../../schemas/types.generated.ts';
import { createEscalationStore } from '../ack/escalations.ts';
import { audienceSourceOf } from './audience.ts';
import { type FanoutDependencies, type FanoutHandlerSettings, handleFanout } from './handler.ts';

/**
 * fanout: expands each fanout job's audience (a page of the audience index at a time) into delivery
 * batches per channel on `deliver.<channel>`, with one `queued` event per batch and one `dropped` event
 * per reason. See handler.ts for how a large audience is sliced and expand.ts for the paging.
 */

export { expandJob } from './expand.ts';
export { handleFanout } from './handler.ts';

export function fanoutSettings(config: Config): FanoutHandlerSettings {
  const { fanout } = config;
  return {
    pageSize: fanout.pageSize,
    sliceUsers: fanout.sliceUsers,
    callUsers: fanout.callUsers,
    maxDevicesPerChannel: fanout.maxDevicesPerChannel,
    wsReachability: fanout.wsReachability,
    batchSizes: { ...fanout.batchSizes },
  };
}

export const stage = defineStage<FanoutJob, FanoutDependencies & { close: () => Promise<void> }>({
  name: 'fanout',
  input: ['fanout'],
  output: ['fanout', 'events', ...ChannelSymbols.map((channel) => `deliver.${channel}`)],
  async setup(config, log) {
    const index = createAudienceIndex(config, { log: log.child({ component: 'audience-index' }) });
    // Cassandra is only touched for plan-fallback jobs (escalation deadlines); the client connects lazily.
    const cassandra = createCassandra(config);
    const escalations = createEscalationStore(cassandra);
    return {
      audience: audienceSourceOf(index),
      settings: fanoutSettings(config),
      now: Date.now,
      recordEscalations: (job, entries) => escalations.record(job, entries),
      log,
      async close() {
        await Promise.allSettled([index.close(), cassandra.shutdown()]);
      },
    };
  },
  // No abort signal: a shutdown lets the call finish (one slice at most) rather than fail it into the retry topic.
  handler: (batch, { deps }) => handleFanout(batch, deps),
});
