import { BUCKETS } from '../../pipeline/audience-index/bucket.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';
import type { DeliveryEvent, FanoutJob } from '../../schemas/types.generated.ts';
import { audienceQueryOf } from './audience.ts';
import { type ExpandDependencies, expandJob, type FanoutSettings } from './expand.ts';

/**
 * The fanout stage's handler: a plain function of a batch of fanout jobs.
 *
 * The runtime produces a handler's outputs only when the handler returns, and commits the input after
 * that, so everything one call returns is in memory at once and is repeated whole if the process dies
 * before the commit. Two rules keep that bounded:
 * - an audience bigger than `sliceUsers` is not expanded here: the job is cut into slice jobs (the
 *   index's stable uid buckets) put back on the fanout topic, keyed apart so they spread over
 *   partitions and consumers, each a bounded amount of work;
 * - one call expands at most about `callUsers` users: once that budget is spent, the jobs left in the
 *   batch are put back on the topic untouched (`msgxc-fanout-requeued`), so the next call takes them.
 * A call thus holds at most one slice's deliveries (plus the small jobs before it), and a crash repeats
 * at most that much, with the same batch ids.
 */

export interface FanoutHandlerSettings extends FanoutSettings {
  /** Audiences counted above this many users are cut into slices of about this size. */
  sliceUsers: number;
  /** Users one handler call expands before it puts the rest of its batch back on the topic. */
  callUsers: number;
}

export interface FanoutDependencies extends Omit<ExpandDependencies, 'settings'> {
  settings: FanoutHandlerSettings;
  log?: Logger;
}

export const requeuedHeader = 'msgxc-fanout-requeued';

export async function handleFanout(batch: InputRecord<FanoutJob>[], deps: FanoutDependencies): Promise<OutputRecord[]> {
  const outputs: OutputRecord[] = [];
  let budget = deps.settings.callUsers;
  let expanded = 0;
  for (const record of batch) {
    const job = record.value;
    const now = deps.now();
    if (job.expiresAt !== null && job.expiresAt <= now) {
      outputs.push(expiredEvent(job, now));
      continue;
    }
    if (expanded > 0 && budget <= 0) {
      const requeues = Number(record.headers[requeuedHeader] ?? 0) + 1;
      outputs.push({
        topic: 'fanout',
        key: record.key,
        value: job,
        headers: { ...record.headers, [requeuedHeader]: String(requeues) },
      });
      continue;
    }
    const slices = await sliceCount(job, deps);
    if (slices > 1) {
      deps.log?.info({ messageId: job.messageId, slices }, 'cutting a large audience into slices');
      for (let id = 0; id < slices; id++) {
        outputs.push({ topic: 'fanout', key: `${job.messageId}/${id}`, value: { ...job, slice: { id, max: slices } } });
      }
      continue;
    }
    const run = expandJob(job, deps);
    for (;;) {
      const step = await run.next();
      if (step.done) {
        budget -= step.value.users;
        expanded++;
        deps.log?.debug(
          { messageId: job.messageId, slice: job.slice, users: step.value.users, deliveries: step.value.deliveries },
          'expanded fanout job',
        );
        break;
      }
      outputs.push(step.value);
    }
  }
  return outputs;
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
  const event: DeliveryEvent = {
    eventId: `${job.messageId}:fanout:${job.slice ? `${job.slice.id}/${job.slice.max}` : 'all'}:expired`,
    type: 'expired',
    at,
    messageId: job.messageId,
    requestId: job.requestId,
    deliveryId: null,
    uid: null,
    tid: job.tid,
    channel: null,
    deviceId: null,
    urgency: job.urgency,
    experimentId: job.experiment?.id ?? null,
    variant: null,
    reason: 'EXPIRED',
    detail: null,
    providerMessageId: null,
    attempt: 0,
    source: 'fanout',
    trace: job.trace,
  };
  return { topic: 'events', key: job.messageId, value: event };
}
