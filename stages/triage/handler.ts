import { mapLimit } from '../../pipeline/concurrency/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { jobEvent, requestEvent } from '../../pipeline/records/events.ts';
import { DEFAULT_URGENCY } from '../../pipeline/records/urgency.ts';
import type { InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';
import { fanoutTopicFor } from '../../pipeline/topics/lanes.ts';
import type {
  Audience,
  DeliveryEvent,
  Experiment,
  FanoutJob,
  IngestRequest,
  PrioritizedRequest,
  StoredMessage,
  Variant,
} from '../../schemas/types.generated.ts';
import { budgetOf } from './lanes.ts';
import { messageIdOf } from './message-id.ts';
import { allowedChannels, choosePlan, defaultPlanOptions, type PlanOptions } from './plan.ts';
import { checkRights, type ThreadRules, unknownThread } from './rights.ts';

/**
 * triage: resolve the thread, re-check the sender's rights, apply the thread's defaults (urgency, channel
 * types, experiment), store the message and emit a fanout job with the plan for its urgency, a `queued`
 * event and the stored message for the sinks.
 *
 * Everything that can refuse a record (unknown thread, rights, channels, experiment) runs over the whole
 * batch before anything is written, so a batch the runtime bisects to isolate a refused record leaves no
 * half-written state. Writes are idempotent by the message id, derived deterministically from the request
 * id (message-id.ts): a redelivered record rewrites the same row and re-emits the same job.
 */

export const STAGE = 'triage';

/** What triage needs to know about a thread. */
export interface ThreadView extends ThreadRules {
  channelTypes: readonly string[];
  urgency: number | null;
  /** The thread's experiment with its variants (the request may name it, or inherit it). */
  experiment: { id: string; variants: readonly Variant[] } | null;
}

/** The thread store's read (pipeline/store/thread.ts), usually behind a short cache (thread-cache.ts). */
export interface ThreadLookup {
  getThread(tid: string): Promise<ThreadView | null>;
}

export interface MessageWriter {
  /** Writes the message idempotently (same id, same row). */
  saveMessage(message: StoredMessage): Promise<void>;
}

export interface TriageDeps {
  threads: ThreadLookup;
  messages: MessageWriter;
  now?: () => number;
  plan?: PlanOptions;
  /** The runtime's `giveWay`: waits while this process handles a more urgent lane (none in tests). */
  giveWay?: () => Promise<void>;
}

export const UNKNOWN_EXPERIMENT = 'UNKNOWN_EXPERIMENT';

function audienceOf(request: IngestRequest): Audience {
  const none = { tid: null, uids: null, cohort: null, experimentId: null, variant: null };
  switch (request.kind) {
    case 'publish':
      return { ...none, kind: 'thread', tid: request.tid };
    case 'send':
      return { ...none, kind: 'uids', uids: request.uid === null ? [] : [request.uid] };
    case 'multicast':
      return { ...none, kind: 'uids', uids: [...new Set(request.uids ?? [])] };
    case 'broadcast':
      return { ...none, kind: 'everyone' };
    case 'cohort':
      return { ...none, kind: 'cohort', cohort: request.cohort };
    case 'split':
      return { ...none, kind: 'split', experimentId: request.experimentId, variant: request.variant };
  }
}

/**
 * The experiment of a message: the request's own id overrides the thread's. Variants are only known for the
 * thread's experiment (threads carry them; there is no separate experiment registry yet), so a request naming
 * another experiment is refused — except a split, whose audience already names the variant to reach.
 */
function experimentOf(request: IngestRequest, thread: ThreadView | null): Experiment | null {
  const id = request.experimentId ?? thread?.experiment?.id ?? null;
  if (id === null) return null;
  const known = thread?.experiment;
  if (known && known.id === id && known.variants.length > 0) {
    return { id, variants: known.variants.map((variant) => ({ ...variant })) };
  }
  if (request.kind === 'split') return null;
  throw new MsgxcError(UNKNOWN_EXPERIMENT, `experiment ${id} has no variants on thread ${request.tid ?? '(none)'}`, {
    retriable: false,
    details: { requestId: request.requestId, experimentId: id },
  });
}

interface Resolved {
  record: InputRecord<PrioritizedRequest>;
  request: IngestRequest;
  thread: ThreadView | null;
}

async function resolveThreads(batch: InputRecord<PrioritizedRequest>[], threads: ThreadLookup) {
  const tids = [...new Set(batch.map((record) => record.value?.request.tid ?? null).filter((tid) => tid !== null))];
  const found = await Promise.all(tids.map(async (tid) => [tid, await threads.getThread(tid)] as const));
  return new Map(found);
}

export async function triageBatch(
  batch: InputRecord<PrioritizedRequest>[],
  deps: TriageDeps,
  lane: number,
): Promise<OutputRecord[]> {
  const budget = budgetOf(lane);
  // The runtime marks an urgent lane's batch as in flight; the low lanes give way to it between slices.
  const giveWay = budget.urgent ? async () => undefined : (deps.giveWay ?? (async () => undefined));
  return triage(batch, deps, budget, giveWay);
}

async function triage(
  batch: InputRecord<PrioritizedRequest>[],
  deps: TriageDeps,
  budget: ReturnType<typeof budgetOf>,
  giveWay: () => Promise<void>,
): Promise<OutputRecord[]> {
  const now = (deps.now ?? Date.now)();
  const planOptions = deps.plan ?? defaultPlanOptions;
  await giveWay();

  // 1. Refusals first, with reads only.
  const resolved = await resolveBatch(batch, deps.threads);

  // 2. Build what gets stored and emitted; expired requests only get their event.
  const outputs: OutputRecord[][] = [];
  const toStore: StoredMessage[] = [];
  for (const entry of resolved) {
    const built = buildOutputs(entry, now, planOptions);
    if (built.message) toStore.push(built.message);
    outputs.push(built.outputs);
  }

  // 3. Store, in slices for the low lanes so urgent work gets the connection pool between slices.
  await storeInSlices(toStore, deps.messages, budget, giveWay);
  return outputs.flat();
}

/** Every record with its thread, or the refusal of the first one that may not go on. */
async function resolveBatch(batch: InputRecord<PrioritizedRequest>[], lookup: ThreadLookup): Promise<Resolved[]> {
  const threads = await resolveThreads(batch, lookup);
  return batch.map((record) => {
    if (record.value === null)
      throw new MsgxcError('INVALID_RECORD', 'a lane record without a value', { retriable: false });
    const request = record.value.request;
    const thread = request.tid === null ? null : (threads.get(request.tid) ?? null);
    if (request.tid !== null && thread === null) throw unknownThread(request.tid, request.requestId);
    checkRights(request, thread);
    return { record, request, thread };
  });
}

/** One record's outputs, and the message to store unless the request expired in its lane. */
function buildOutputs(
  { record, request, thread }: Resolved,
  now: number,
  planOptions: PlanOptions,
): { outputs: OutputRecord[]; message: StoredMessage | null } {
  const prioritized = record.value;
  const expiresAt = prioritized.expiresAt;
  if (expiresAt !== null && expiresAt <= now) {
    return {
      outputs: [{ topic: 'events', key: request.requestId, value: expiredEvent(request, prioritized, now) }],
      message: null,
    };
  }
  const urgency = request.urgency ?? thread?.urgency ?? prioritized.urgency ?? DEFAULT_URGENCY;
  const channels = allowedChannels(thread?.channelTypes, request.channels, request.requestId);
  const plan = choosePlan(urgency, channels, planOptions);
  const experiment = experimentOf(request, thread);
  const messageId = messageIdOf(request.requestId, request.createdAt);
  const audience = audienceOf(request);
  const message = storedMessageOf(request, { messageId, audience, urgency, channels, experiment, expiresAt, now });
  const job: FanoutJob = {
    messageId,
    requestId: request.requestId,
    tid: request.tid,
    audience,
    urgency,
    ...plan,
    subject: request.subject,
    msg: request.msg,
    opts: request.opts,
    data: request.data,
    collapseKey: request.collapseKey,
    expiresAt,
    experiment,
    slice: null,
    sender: request.sender,
    createdAt: request.createdAt,
    triagedAt: now,
    trace: request.trace,
  };
  return {
    outputs: [
      { topic: fanoutTopicFor(job.urgency), key: messageId, value: job },
      { topic: 'messages', key: request.tid ?? messageId, value: message },
      { topic: 'events', key: messageId, value: queuedEvent(job, now) },
    ],
    message,
  };
}

interface Triaged {
  messageId: string;
  audience: Audience;
  urgency: number;
  channels: StoredMessage['channels'];
  experiment: Experiment | null;
  expiresAt: number | null;
  now: number;
}

function storedMessageOf(request: IngestRequest, triaged: Triaged): StoredMessage {
  const { messageId, audience, urgency, channels, experiment, expiresAt, now } = triaged;
  return {
    messageId,
    requestId: request.requestId,
    kind: request.kind,
    tid: request.tid,
    audience,
    sender: request.sender,
    subject: request.subject,
    msg: request.msg,
    opts: request.opts,
    data: request.data,
    urgency,
    channels,
    collapseKey: request.collapseKey,
    experimentId: experiment?.id ?? request.experimentId,
    createdAt: request.createdAt,
    scheduledAt: request.scheduledAt,
    expiresAt,
    storedAt: now,
    trace: request.trace,
  };
}

async function storeInSlices(
  toStore: StoredMessage[],
  messages: MessageWriter,
  budget: ReturnType<typeof budgetOf>,
  giveWay: () => Promise<void>,
): Promise<void> {
  for (let start = 0; start < toStore.length; start += budget.slice) {
    if (start > 0) await giveWay();
    const slice = toStore.slice(start, start + budget.slice);
    await mapLimit(slice, budget.concurrency, (message) => messages.saveMessage(message));
  }
}

function queuedEvent(job: FanoutJob, now: number): DeliveryEvent {
  return jobEvent(job, {
    eventId: `${job.messageId}:queued`,
    type: 'queued',
    at: now,
    reason: null,
    detail: `plan ${job.plan} on ${job.channels.join(',')}`,
    attempt: null,
    source: STAGE,
  });
}

function expiredEvent(request: IngestRequest, prioritized: PrioritizedRequest, now: number): DeliveryEvent {
  return requestEvent(request, 'expired', now, STAGE, {
    reason: 'EXPIRED',
    detail: 'expired while waiting in its lane',
    urgency: prioritized.urgency,
  });
}
