import { BUCKETS } from '../../pipeline/audience-index/bucket.ts';
import { mergeLimit } from '../../pipeline/concurrency/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { fanoutEventRecord } from '../../pipeline/records/events.ts';
import type { InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';
import { fanoutTopicFor } from '../../pipeline/topics/lanes.ts';
import type { FanoutJob } from '../../schemas/types.generated.ts';
import { audienceQueryOf } from './audience.ts';
import { type ExpandDependencies, expandJob, type FanoutSettings } from './expand.ts';

/**
 * The fanout stage's handler: a plain function of a batch of fanout jobs that streams its outputs.
 *
 * It is an async generator: the runtime produces what it yields every thousand records or so and asks for
 * more only once those are acknowledged, so a broadcast of any size holds one page of audience, the open
 * batches and one produce chunk in memory, not its deliveries. The input commits once everything was
 * produced; a crash or a retry re-runs the job from the start and repeats batches with the same ids
 * (batcher.ts), which downstream stages drop.
 *
 * Slicing is for parallelism only: an audience counted above `sliceUsers` is not expanded here but cut
 * into slice jobs (the index's stable uid buckets) put back on the fanout topic, keyed apart so they spread
 * over partitions and consumers, and no one job holds its partition for the whole broadcast.
 */

export interface FanoutHandlerSettings extends FanoutSettings {
  /** Audiences counted above this many users are cut into slices of about this size. */
  sliceUsers: number;
  /** Jobs of one input chunk expanded at once (default 4), so a broadcast does not hold up the sends behind it. */
  jobsInFlight?: number;
}

export interface FanoutDependencies extends Omit<ExpandDependencies, 'settings'> {
  settings: FanoutHandlerSettings;
  log?: Logger;
}

export function handleFanout(
  batch: InputRecord<FanoutJob>[],
  deps: FanoutDependencies,
): AsyncGenerator<OutputRecord, void> {
  return mergeLimit(batch, deps.settings.jobsInFlight ?? 4, (record) => handleJob(record.value, deps));
}

async function* handleJob(job: FanoutJob, deps: FanoutDependencies): AsyncGenerator<OutputRecord, void> {
  const now = deps.now();
  if (job.expiresAt !== null && job.expiresAt <= now) {
    yield expiredEvent(job, now);
    return;
  }
  const slices = await sliceCount(job, deps);
  if (slices > 1) {
    deps.log?.info({ messageId: job.messageId, slices }, 'cutting a large audience into slices');
    for (let id = 0; id < slices; id++) {
      yield {
        topic: fanoutTopicFor(job.urgency),
        key: `${job.messageId}/${id}`,
        value: { ...job, slice: { id, max: slices } },
      };
    }
    return;
  }
  const summary = yield* expandJob(job, deps);
  deps.log?.debug(
    { messageId: job.messageId, slice: job.slice, users: summary.users, deliveries: summary.deliveries },
    'expanded fanout job',
  );
}

/** 1 unless the job is a whole audience counted above `sliceUsers`. A uid list is sized without asking the index. */
async function sliceCount(job: FanoutJob, deps: FanoutDependencies): Promise<number> {
  if (job.slice !== null) return 1;
  const limit = deps.settings.sliceUsers;
  const size =
    job.audience.kind === 'uids'
      ? new Set(job.audience.uids ?? []).size
      : await deps.audience.count(audienceQueryOf(job.audience), { excludeOptedOut: true });
  return size > limit ? Math.min(BUCKETS, Math.ceil(size / limit)) : 1;
}

function expiredEvent(job: FanoutJob, at: number): OutputRecord {
  return fanoutEventRecord(job, 'expired', at, { idSuffix: 'expired', reason: 'EXPIRED', detail: null });
}
