import type { Context } from 'hono';
import type { Principal } from '../../pipeline/auth/index.ts';
import { defaultLimits, findIssue } from '../../pipeline/contract/ingest.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { AudienceChangeInput, IngestRequest, RequestKind, TraceContext } from '../../schemas/index.ts';
import { dependency } from './errors.ts';
import type { AppDeps } from './ports.ts';
import type { Env } from './router.ts';
import type { Opts } from './validators.ts';

/** Building the records the facade writes, and writing them so that nothing is left half-done. */

const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The caller's W3C trace context, when it sent a well-formed one. */
export function traceOf(c: Context<Env>): TraceContext | null {
  const traceparent = c.req.header('traceparent');
  if (traceparent === undefined || !traceparentPattern.test(traceparent)) return null;
  const tracestate = c.req.header('tracestate');
  return { traceparent, tracestate: tracestate !== undefined && tracestate.length <= 512 ? tracestate : null };
}

export function senderOf(principal: Principal): IngestRequest['sender'] {
  return { kind: principal.admin ? 'admin' : principal.service ? 'service' : 'user', id: principal.uid };
}

export interface Target {
  tid?: string;
  uid?: string;
  uids?: string[];
}

export function ingestRequest(
  kind: RequestKind,
  input: {
    ingestRequestId: string;
    principal: Principal;
    msg: string;
    opts: Opts | undefined;
    target: Target;
    now: number;
  },
  trace: TraceContext | null,
): IngestRequest {
  const { subject, urgency, channels, ttl, expiresAt, scheduledAt, collapseKey, experimentId, data, ...rest } =
    input.opts ?? {};
  return {
    requestId: input.ingestRequestId,
    kind,
    tid: input.target.tid ?? null,
    uid: input.target.uid ?? null,
    uids: input.target.uids ?? null,
    cohort: null,
    variant: null,
    msg: input.msg,
    subject: subject ?? null,
    // What the facade does not map to a field travels verbatim for the channel adapters (icon, sound, url…).
    opts: Object.keys(rest).length > 0 ? JSON.stringify(rest) : null,
    data: data === undefined ? null : JSON.stringify(data),
    urgency: urgency ?? null,
    channels: channels ?? null,
    scheduledAt: scheduledAt ?? null,
    expiresAt: expiresAt ?? null,
    ttlSeconds: ttl ?? null,
    collapseKey: collapseKey ?? null,
    experimentId: experimentId ?? null,
    sender: senderOf(input.principal),
    createdAt: input.now,
    trace,
  };
}

/** Where an ingest field came from in the API's bodies, so a broken contract rule names what the client sent. */
const apiPathOf: Record<string, string[]> = {
  ttlSeconds: ['opts', 'ttl'],
  expiresAt: ['opts', 'expiresAt'],
  scheduledAt: ['opts', 'scheduledAt'],
  collapseKey: ['opts', 'collapseKey'],
  subject: ['opts', 'subject'],
  data: ['opts', 'data'],
  urgency: ['opts', 'urgency'],
  channels: ['opts', 'channels'],
  experimentId: ['opts', 'experimentId'],
  opts: ['opts'],
};

/**
 * The last gate before Kafka: the record must pass the ingest contract prioritize applies (pipeline/contract),
 * so the facade never answers `true` for a request the pipeline would dead-letter. The schemas catch these
 * first with field-level issues; this catches whatever they do not express.
 */
export function checkContract(deps: AppDeps, request: IngestRequest): void {
  const limits = { ...defaultLimits, messageMaxBytes: deps.limits.messageMaxBytes };
  const issue = findIssue(request, request.createdAt, limits);
  if (issue === undefined) return;
  throw new MsgxcError('INVALID_REQUEST', 'the request does not match the schema', {
    status: 400,
    details: { issues: [{ path: apiPathOf[issue.field] ?? [issue.field], message: issue.message }] },
  });
}

/** Checks the contract, encodes and produces an ingest request; resolves once Kafka acknowledged it. */
export async function produceIngest(deps: AppDeps, request: IngestRequest): Promise<void> {
  checkContract(deps, request);
  const timeout = deps.limits.dependencyTimeoutMs;
  const record = await dependency('schema registry', timeout, () => deps.ingest.prepare(request, request.requestId));
  await dependency('kafka', timeout, () => deps.ingest.send([record]));
}

export interface DurableChange<R> {
  change: AudienceChangeInput;
  /** The Cassandra write; its result tells `more` and `undo` what actually changed. */
  write: () => Promise<R>;
  /** Further changes the write turned out to cause (e.g. a token taken from another user). */
  more?: (result: R) => AudienceChangeInput[];
  /** Puts Cassandra back as it was before `write`, when the changes could not be emitted. */
  undo?: (result: R) => Promise<void>;
}

/**
 * Writes to Cassandra and then emits the audience change. The change is encoded first, so a registry
 * outage fails before any write; if Kafka then refuses the change, `undo` puts Cassandra back as it was,
 * so the caller's 503 means "nothing happened" and a retry starts clean.
 */
export async function writeThenEmit<R>(deps: AppDeps, log: Logger, durable: DurableChange<R>): Promise<R> {
  const timeout = deps.limits.dependencyTimeoutMs;
  const prepare = (change: AudienceChangeInput) =>
    dependency('schema registry', timeout, () => deps.audience.prepare(change, change.uid));
  const first = await prepare(durable.change);
  const result = await dependency('cassandra', timeout, durable.write);
  try {
    const records = [first, ...(await Promise.all((durable.more?.(result) ?? []).map(prepare)))];
    await dependency('kafka', timeout, () => deps.audience.send(records));
  } catch (error) {
    if (durable.undo !== undefined) {
      const undo = durable.undo;
      try {
        await dependency('cassandra', timeout, () => undo(result));
      } catch (undoError) {
        // Cassandra holds the change but the index will not hear of it until a retry or `msgxc reindex`.
        log.error({ err: undoError, change: durable.change.type }, 'could not undo a write after Kafka failed');
      }
    }
    throw error;
  }
  return result;
}

export function audienceChange(
  type: AudienceChangeInput['type'],
  uid: string,
  now: number,
  trace: TraceContext | null,
  fields: Partial<AudienceChangeInput> = {},
): AudienceChangeInput {
  return {
    changeId: crypto.randomUUID(),
    type,
    uid,
    at: now,
    device: null,
    tid: null,
    preferences: null,
    profile: null,
    cohort: null,
    split: null,
    source: 'http',
    trace,
    ...fields,
  };
}
