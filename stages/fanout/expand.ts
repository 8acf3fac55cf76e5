import { bucketOf, sliceRange } from '../../pipeline/audience-index/bucket.ts';
import type { Channel as IndexChannel } from '../../pipeline/audience-index/types.ts';
import type { Pacer } from '../../pipeline/concurrency/pacer.ts';
import { type BatchSizes, createBatcher } from '../../pipeline/records/batcher.ts';
import type { EscalationEntry } from '../../pipeline/records/escalation.ts';
import { fanoutEventRecord } from '../../pipeline/records/events.ts';
import { createVariantAssigner } from '../../pipeline/records/variants.ts';
import type { OutputRecord } from '../../pipeline/runtime/types.ts';
import type { InboxEntry } from '../../pipeline/store/inbox.ts';
import type { BroadcastEntry } from '../../pipeline/store/inbox-broadcasts.ts';
import type { Channel, FanoutJob, Variant } from '../../schemas/types.generated.ts';
import { type AudienceSource, audienceQueryOf } from './audience.ts';
import { type PlanSettings, planRecipient, type RecipientPlan } from './recipients.ts';

/**
 * Expands one fanout job (or one slice of it) into delivery batches, a page of audience at a time.
 * A generator: batches are yielded as they fill, so memory holds one page of documents and one open
 * batch per channel, not the audience. The stage handler yields it on to the runtime, which produces it in
 * chunks as it goes.
 */

export interface FanoutSettings extends PlanSettings {
  /** Audience documents per page. */
  pageSize: number;
  batchSizes: BatchSizes;
}

export interface ExpandDependencies {
  audience: AudienceSource;
  settings: FanoutSettings;
  now: () => number;
  /** Records escalation deadlines (plan fallback), idempotently; awaited before the batches are returned. */
  recordEscalations?: (job: FanoutJob, entries: EscalationEntry[]) => Promise<void>;
  /**
   * Writes a page of recipients' inbox rows, idempotently. Awaited before any delivery of that page is
   * yielded, so no live frame is ever sent for a message its recipient's inbox does not hold yet.
   */
  recordInbox?: (entries: InboxEntry[]) => Promise<void>;
  /**
   * Writes a broadcast (audience `everyone`) to the inbox once, idempotently, instead of a row per recipient;
   * awaited before the first batch. Reading a user's inbox merges it in.
   */
  recordBroadcast?: (entry: BroadcastEntry) => Promise<void>;
  /** Paces the audience walks of this stage (the bulk lane's): they back off while the search engine is contended. */
  pacer?: Pacer;
  signal?: AbortSignal;
}

export interface ExpandSummary {
  /** Audience documents read. */
  users: number;
  /** Deliveries put into batches. */
  deliveries: number;
  dropped: Map<string, number>;
}

/** Escalation entries are written in chunks of this many, so a big fallback audience is never held whole. */
const escalationChunk = 500;

export async function* expandJob(
  job: FanoutJob,
  deps: ExpandDependencies,
): AsyncGenerator<OutputRecord, ExpandSummary> {
  const { settings } = deps;
  const now = deps.now();
  const variants = new Map((job.experiment?.variants ?? []).map((variant) => [variant.name, variant]));
  const context = {
    job,
    assigner: job.experiment && job.audience.kind !== 'split' ? createVariantAssigner(job.experiment) : undefined,
    variants,
    settings,
    now,
  };
  const batcher = createBatcher(
    job,
    settings.batchSizes,
    { attempt: 0, escalatedFrom: null, source: 'fanout' },
    deps.now,
  );
  const summary: ExpandSummary = { users: 0, deliveries: 0, dropped: new Map() };
  const drop = (reason: string, count = 1) => summary.dropped.set(reason, (summary.dropped.get(reason) ?? 0) + count);
  const seen = job.audience.kind === 'uids' ? new Set<string>() : undefined;
  const escalationAfter = job.plan === 'fallback' ? job.escalateAfterMs : null;
  let escalations: EscalationEntry[] = [];

  const everyUser = deps.recordInbox !== undefined;
  const writtenOnce = job.audience.kind === 'everyone' && deps.recordBroadcast !== undefined;
  if (writtenOnce) await deps.recordBroadcast?.(broadcastEntry(job));
  const pages = deps.audience.pages(audienceQueryOf(job.audience), pageOptions(job, settings, deps, everyUser));
  for await (const page of prefetched(pages)) {
    const plans = page.map((doc) => planRecipient(doc, context));
    if (deps.recordInbox && !writtenOnce) await deps.recordInbox(inboxEntries(job, plans, variants));
    for (const plan of plans) {
      summary.users++;
      seen?.add(plan.uid);
      if (plan.kind === 'drop') {
        drop(plan.reason);
        continue;
      }
      for (const delivery of plan.deliveries) {
        summary.deliveries++;
        yield* batcher.add(delivery.channel, {
          deliveryId: delivery.deliveryId,
          uid: plan.uid,
          device: delivery.device,
          variant: plan.variant,
          locale: plan.locale,
        });
      }
      const first = plan.deliveries[0];
      if (escalationAfter !== null && first && plan.escalation.length > 0) {
        escalations.push({
          messageId: job.messageId,
          uid: plan.uid,
          variant: plan.variant,
          locale: plan.locale,
          channel: first.channel,
          dueAt: now + escalationAfter,
          fallback: plan.escalation,
        });
      }
    }
    if (escalations.length >= escalationChunk && deps.recordEscalations) {
      await deps.recordEscalations(job, escalations);
      escalations = [];
    }
  }
  if (escalations.length > 0 && deps.recordEscalations) await deps.recordEscalations(job, escalations);
  yield* batcher.flush();

  if (seen && job.audience.uids) {
    const unknown = requestedUids(job).filter((uid) => !seen.has(uid)).length;
    if (unknown > 0) drop('UNKNOWN_USER', unknown);
  }
  for (const [reason, count] of summary.dropped) yield droppedEvent(job, reason, count, now);
  return summary;
}

/** Drops that still leave the message addressed to the user (no channel reached them): kept in the inbox. */
const inboxDrops = new Set<string>(['CHANNEL_NOT_ACCEPTED', 'NO_DEVICE']);

/** The inbox rows of a page: every recipient the message is addressed to, with their variant's text. */
function inboxEntries(job: FanoutJob, plans: RecipientPlan[], variants: ReadonlyMap<string, Variant>): InboxEntry[] {
  const entries: InboxEntry[] = [];
  for (const plan of plans) {
    if (plan.kind === 'drop' && !inboxDrops.has(plan.reason)) continue;
    const variant = plan.variant === null ? undefined : variants.get(plan.variant);
    entries.push({
      uid: plan.uid,
      messageId: job.messageId,
      kind: job.audience.kind,
      tid: job.tid,
      subject: variant?.subject ?? job.subject,
      msg: variant?.msg ?? job.msg,
      data: job.data,
      urgency: job.urgency,
      sentAt: job.createdAt,
      variant: plan.variant,
    });
  }
  return entries;
}

/** A broadcast as the inbox keeps it once for all: each user's variant is worked out again when read. */
function broadcastEntry(job: FanoutJob): BroadcastEntry {
  return {
    messageId: job.messageId,
    subject: job.subject,
    msg: job.msg,
    data: job.data,
    urgency: job.urgency,
    sentAt: job.createdAt,
    experiment: job.experiment,
  };
}

/**
 * Asks for the next page as soon as one arrives, so the search engine works on page k+1 while this
 * process turns page k into batches: fan-out then runs at the slower of the two rates, not their sum.
 * At most two pages are held. Leaving early (an error, a consumer that stops) waits for the request in
 * flight and closes the source, which closes its point in time.
 */
export async function* prefetched<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<T>> | undefined = iterator.next();
  try {
    for (;;) {
      const current: IteratorResult<T> = await next;
      next = undefined;
      if (current.done) return;
      next = iterator.next();
      // An unawaited rejection would be reported as unhandled before the loop gets back to it.
      next.catch(() => undefined);
      yield current.value;
    }
  } finally {
    if (next) {
      const pending = await next.catch(() => undefined);
      if (pending && !pending.done) await iterator.return?.();
    }
  }
}

/**
 * Pushes what the index can filter into the query; a uid list keeps its opted-out users so every drop has a
 * reason. With an inbox (`everyUser`) reachability is not filtered in the query: a user no channel reaches
 * still gets the message in their inbox.
 */
function pageOptions(
  job: FanoutJob,
  settings: FanoutSettings,
  { signal, pacer }: Pick<ExpandDependencies, 'signal' | 'pacer'>,
  everyUser: boolean,
) {
  const allowed = new Set<Channel>(job.channels);
  for (const variant of job.experiment?.variants ?? [])
    for (const channel of variant.channels ?? []) allowed.add(channel);
  // ws counts as reachable without an enlisted client when every ws-allowed user gets a ws delivery.
  // Realtime plans send ws to everyone; fallback (urgent) plans add a ws copy to their one push channel.
  const wsForAll = job.plan === 'realtime' || job.plan === 'fallback';
  const everyoneReachable = allowed.has('ws') && settings.wsReachability === 'always' && wsForAll;
  return {
    pageSize: settings.pageSize,
    // planRecipient reads devices of these channels only. Their secrets stay sealed in the delivery records:
    // the delivery stage opens each device just before it sends (pipeline/delivery/deliver.ts).
    devicesOn: [...allowed],
    sealed: true,
    slice: job.slice,
    excludeOptedOut: job.audience.kind !== 'uids',
    ...(everyoneReachable || everyUser || job.audience.kind === 'uids'
      ? {}
      : { reachableOn: [...allowed] as IndexChannel[] }),
    ...(signal ? { signal } : {}),
    ...(pacer ? { pacer } : {}),
  };
}

/** The requested uids this job (or slice) covers. */
function requestedUids(job: FanoutJob): string[] {
  const uids = [...new Set(job.audience.uids ?? [])];
  if (!job.slice) return uids;
  const { from, to } = sliceRange(job.slice);
  return uids.filter((uid) => {
    const bucket = bucketOf(uid);
    return bucket >= from && bucket < to;
  });
}

function droppedEvent(job: FanoutJob, reason: string, count: number, at: number): OutputRecord {
  // One event per reason and job (or slice), with the count, rather than one per user.
  const detail = JSON.stringify({ recipients: count });
  return fanoutEventRecord(job, 'dropped', at, { idSuffix: `dropped:${reason}`, reason, detail });
}
