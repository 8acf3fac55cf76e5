import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { defineStage, type StageDefinition } from '../../pipeline/runtime/index.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { cacheThreads } from '../../pipeline/store/thread-cache.ts';
import { fanoutTopics, laneTopic } from '../../pipeline/topics/lanes.ts';
import type { PrioritizedRequest } from '../../schemas/types.generated.ts';
import { STAGE, type TriageDeps, triageBatch } from './handler.ts';

/**
 * triage runs as one stage per lane — `triage.lane4` … `triage.lane1` — sharing one handler. One consumer
 * group per lane is what makes the lanes real: a single consumer over all four topics would fetch and work
 * through a 200k-record urgency-1 backlog in front of an urgency-4 record. Each lane also gets its own
 * Cassandra connection pool (its own `setup`), and the low lanes work in small slices that yield to urgent
 * work in the same process (lanes.ts). Each lane has its own retry and dead-letter topics
 * (`triage.lane<N>.retry` / `.dlq`), so a lane's poison records never block another lane either.
 */

export { triageBatch } from './handler.ts';
export { messageIdOf } from './message-id.ts';

type Deps = TriageDeps & { close: () => Promise<void> };

export const laneStageName = (urgency: number) => `${STAGE}.lane${urgency}`;

function laneStage(urgency: 1 | 2 | 3 | 4): StageDefinition<PrioritizedRequest, Deps> {
  return defineStage<PrioritizedRequest, Deps>({
    name: laneStageName(urgency),
    input: [laneTopic(urgency)],
    output: [...fanoutTopics, 'messages', 'events'],
    async setup(config) {
      const cassandra = createCassandra(config);
      return {
        threads: cacheThreads(createThreadStore(cassandra)),
        messages: createMessageStore(cassandra),
        async close() {
          await cassandra.shutdown();
        },
      };
    },
    handler: (batch, { deps, giveWay }) => triageBatch(batch, { ...deps, giveWay }, urgency),
  });
}

export const lane4 = laneStage(4);
export const lane3 = laneStage(3);
export const lane2 = laneStage(2);
export const lane1 = laneStage(1);

/** All four lanes, urgent first (the order `runStages` joins their groups in). */
export const laneStages = [lane4, lane3, lane2, lane1] as const;
