import { mapLimit } from '../../pipeline/concurrency/index.ts';
import { invalid, type ValidationLimits, validateRequest } from '../../pipeline/contract/ingest.ts';
import { prioritized, requestEvent } from '../../pipeline/records/events.ts';
import type { InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';
import type { ScheduleWriter } from '../../pipeline/schedule/types.ts';
import type { SightingRecord } from '../../pipeline/store/sightings.ts';
import { laneKey, laneTopic } from '../../pipeline/topics/lanes.ts';
import type { IngestRequest } from '../../schemas/types.generated.ts';
import { DEFAULT_SCHEDULE_SLACK_MS, laneUrgency, route } from './route.ts';

/**
 * prioritize: validate → drop what has expired → drop repeats → hold what is scheduled for later → route the
 * rest to the lane of its urgency.
 *
 * ## Why "mark, then emit", and why that loses nothing
 * The handler cannot emit-then-mark: the runtime produces the outputs after the handler returns and commits
 * the offsets after that, so any mark has to happen inside the handler, before the emit. A crash between the
 * mark and the commit makes the runtime hand the same record over again — and a plain "seen it, drop it"
 * would then lose the message for good. So the dedup gate remembers WHERE the first sighting came from (the
 * record's source topic/partition/offset, which the runtime keeps stable across trips through the retry
 * topic) and admits a request id again when it comes back from that very record: that is a redelivery, not
 * a repeat. Only a different record with the same request id — a client or producer retry — is dropped.
 * Re-emitting on redelivery is harmless because everything downstream is idempotent by the message id,
 * which triage derives deterministically from the request id (same request → same message id → the same
 * message row, and clients drop repeats by message id).
 *
 * The default gate (pipeline/store/sightings.ts) marks in memory and returns its marks as outputs to
 * `prioritize.sightings`, produced with the lanes' records. Emit-then-mark is safe there: the memory says
 * "admit" to the same origin again, so a crash that loses the mark redelivers a record that is admitted again.
 *
 * Checks without side effects (validation) run over the whole batch before any mark is written: the runtime
 * bisects a failing batch, and a batch that fails before touching Cassandra can be re-run without leaving
 * half-written state behind.
 */

export const STAGE = 'prioritize';
/** The changelog of the sightings gate (pipeline/store/sightings.ts). */
export const SIGHTINGS = 'prioritize.sightings';

/** How long a request id is remembered; repeats inside the window are dropped. */
export const DEDUP_WINDOW_SECONDS = 24 * 3600;

/** Remembers the first sighting of a request id; see the comment at the top of this file. */
export interface RequestGate {
  /**
   * True when this record is the first sighting of the request id, or the same record seen again
   * (a redelivery); false when another record already carried the id within the window (a repeat).
   */
  admit(requestId: string, origin: string): Promise<boolean>;
  /**
   * `admit` over a whole chunk in input order, in as few round trips as the store can (the dedup store: one
   * conditional batch per ingest partition, not one lightweight transaction per request).
   */
  admitMany?(sightings: readonly { requestId: string; origin: string }[]): Promise<boolean[]>;
  /**
   * A gate whose memory is a changelog (the sightings log) returns the records that remember the admitted
   * sightings; they are produced with the batch's other outputs, see "mark, then emit" above.
   */
  marks?(admitted: readonly { requestId: string; origin: string }[]): SightingRecord[];
}

/** The thread store's read (pipeline/store/thread.ts), usually behind a short cache; only the urgency is used. */
export interface ThreadUrgency {
  getThread(tid: string): Promise<{ urgency: number | null } | null>;
}

export interface PrioritizeDeps {
  gate: RequestGate;
  schedule: ScheduleWriter;
  threads: ThreadUrgency;
  now?: () => number;
  limits?: ValidationLimits;
  scheduleSlackMs?: number;
  /** Cassandra round trips in flight at once for one batch. */
  concurrency?: number;
}

/** Where a record was first consumed from: stable across redeliveries and retry-topic trips. */
export const originOf = (record: InputRecord<unknown>) => `${record.topic}/${record.partition}/${record.offset}`;

export async function prioritizeBatch(
  batch: InputRecord<IngestRequest | null>[],
  deps: PrioritizeDeps,
): Promise<OutputRecord[]> {
  const now = (deps.now ?? Date.now)();
  const slack = deps.scheduleSlackMs ?? DEFAULT_SCHEDULE_SLACK_MS;

  // 1. Everything that can make the batch fail permanently, before any side effect.
  const requests = batch.map((record) => {
    if (record.value === null) throw invalid('the record has no value', undefined);
    validateRequest(record.value, now, deps.limits);
    return record.value;
  });

  // 2. De-duplicate every request that has not expired, the whole chunk at once.
  const items = batch.map((record, index) => {
    const request = requests[index] as IngestRequest;
    return { index, request, decision: route(request, now, slack), origin: originOf(record) };
  });
  const admitted = await admitAll(deps, items);
  const firstSightings = items.flatMap(({ request, origin }, index) =>
    admitted[index] ? [{ requestId: request.requestId, origin }] : [],
  );
  const marks = (deps.gate.marks?.(firstSightings) ?? []).map(
    (mark): OutputRecord => ({ topic: SIGHTINGS, key: mark.requestId, value: mark }),
  );

  // 3. Per record: expire, drop repeats, hold or route. Outputs keep the input order.
  const perRecord = await mapLimit(
    items,
    deps.concurrency ?? 32,
    async ({ index, request, decision, origin }): Promise<OutputRecord[]> => {
      if (decision.action === 'expire') {
        // No dedup mark: an expired request never becomes a message, and its event id is deterministic.
        const event = requestEvent(request, 'expired', now, STAGE, {
          reason: 'EXPIRED',
          detail: `expired at ${new Date(decision.expiresAt).toISOString()}`,
        });
        return [{ topic: 'events', key: request.requestId, value: event }];
      }

      if (!admitted[index]) {
        const event = requestEvent(request, 'dropped', now, STAGE, {
          reason: 'DUPLICATE_REQUEST',
          detail: `request id already seen within ${DEDUP_WINDOW_SECONDS / 3600} h (repeat at ${origin})`,
        });
        return [
          { topic: 'events', key: request.requestId, value: { ...event, eventId: `${event.eventId}:${origin}` } },
        ];
      }

      // Reading the thread here (not only in triage) puts a request without an urgency on the lane of its
      // thread's default: an incoming-call thread's messages must not queue in lane 3 behind a backlog. An
      // unknown thread gets the default lane; triage dead-letters it.
      const threadDefault =
        request.urgency === null && request.tid !== null
          ? ((await deps.threads.getThread(request.tid))?.urgency ?? null)
          : null;
      const urgency = laneUrgency(request, threadDefault);

      if (decision.action === 'hold') {
        await deps.schedule.hold({ request, dueAt: decision.dueAt, urgency, expiresAt: decision.expiresAt });
        const event = requestEvent(request, 'scheduled', now, STAGE, {
          urgency,
          detail: `due at ${new Date(decision.dueAt).toISOString()}`,
        });
        return [{ topic: 'events', key: request.requestId, value: event }];
      }

      return [
        {
          topic: laneTopic(urgency),
          key: laneKey(request),
          value: prioritized(request, urgency, decision.expiresAt, now, false),
        },
      ];
    },
  );
  return [...marks, ...perRecord.flat()];
}

/** Whether each item is admitted (expired ones are not asked); one chunk-wide call when the gate has one. */
async function admitAll(
  deps: PrioritizeDeps,
  items: { request: IngestRequest; origin: string; decision: { action: string } }[],
): Promise<boolean[]> {
  const asked = items.flatMap(({ request, origin, decision }, index) =>
    decision.action === 'expire' ? [] : [{ requestId: request.requestId, origin, index }],
  );
  const { gate } = deps;
  const answers = gate.admitMany
    ? await gate.admitMany(asked.map(({ requestId, origin }) => ({ requestId, origin })))
    : await mapLimit(asked, deps.concurrency ?? 32, ({ requestId, origin }) => gate.admit(requestId, origin));
  const admitted = new Array<boolean>(items.length).fill(false);
  for (const [position, { index }] of asked.entries()) admitted[index] = answers[position] === true;
  return admitted;
}
