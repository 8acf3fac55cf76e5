import { MsgxcError } from '../../pipeline/errors/index.ts';
import type { IngestRequest } from '../../schemas/types.generated.ts';

/**
 * The semantic checks the Avro schema cannot express. The schema already guarantees the field types; here we
 * check that the fields fit together (kind vs audience fields), that numbers are in range and that payloads
 * stay within what the channels can carry. A request that fails is never going to pass: the error is
 * permanent, so the runtime dead-letters it with the reason in its headers.
 */

export interface ValidationLimits {
  /** Largest `msg` in UTF-8 bytes (the facade's limit, so direct producers get the same one). */
  messageMaxBytes: number;
  /** Largest `data` and `opts` in UTF-8 bytes each: push providers cap the whole payload near 4 KiB. */
  payloadMaxBytes: number;
  subjectMaxBytes: number;
  /** Most uids in one multicast; bigger audiences belong in a cohort. */
  multicastMaxUids: number;
  idMaxLength: number;
  /** APNs caps apns-collapse-id at 64 bytes. */
  collapseKeyMaxBytes: number;
  /** How far ahead a message may be scheduled. */
  scheduleMaxAheadMs: number;
}

export const defaultLimits: ValidationLimits = {
  messageMaxBytes: 4096,
  payloadMaxBytes: 4096,
  subjectMaxBytes: 256,
  multicastMaxUids: 10_000,
  idMaxLength: 200,
  collapseKeyMaxBytes: 64,
  scheduleMaxAheadMs: 366 * 24 * 3_600_000,
};

export const INVALID_REQUEST = 'INVALID_REQUEST';

export function invalid(reason: string, request: Pick<IngestRequest, 'requestId'> | undefined): MsgxcError {
  return new MsgxcError(INVALID_REQUEST, reason, {
    retriable: false,
    status: 400,
    details: request ? { requestId: request.requestId } : {},
  });
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const blank = (text: string | null | undefined) => text === null || text === undefined || text.trim() === '';

function checkId(name: string, value: string | null, limits: ValidationLimits): string | undefined {
  if (value === null) return undefined;
  if (blank(value)) return `${name} is empty`;
  if (value.length > limits.idMaxLength) return `${name} is longer than ${limits.idMaxLength} characters`;
  // Control characters in ids end up in Cassandra keys, log lines and Kafka keys: refuse them early.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of the check
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${name} contains control characters`;
  return undefined;
}

function checkJson(name: string, value: string | null, limits: ValidationLimits): string | undefined {
  if (value === null) return undefined;
  if (bytes(value) > limits.payloadMaxBytes) return `${name} is larger than ${limits.payloadMaxBytes} bytes`;
  try {
    JSON.parse(value);
  } catch {
    return `${name} is not valid JSON`;
  }
  return undefined;
}

/** Which audience fields each kind needs, and which it must leave empty (a contradiction is a caller bug). */
function checkAudience(request: IngestRequest, limits: ValidationLimits): string | undefined {
  const present = {
    tid: request.tid !== null,
    uid: request.uid !== null,
    uids: request.uids !== null,
    cohort: request.cohort !== null,
    variant: request.variant !== null,
  };
  const forbid = (...fields: (keyof typeof present)[]) => {
    const extra = fields.filter((field) => present[field]);
    return extra.length > 0 ? `kind ${request.kind} does not take ${extra.join(', ')}` : undefined;
  };
  switch (request.kind) {
    case 'publish':
      if (!present.tid) return 'kind publish needs tid';
      return forbid('uid', 'uids', 'cohort', 'variant');
    case 'send':
      if (!present.uid) return 'kind send needs uid';
      return checkId('uid', request.uid, limits) ?? forbid('uids', 'cohort', 'variant');
    case 'multicast': {
      const uids = request.uids;
      if (!uids || uids.length === 0) return 'kind multicast needs a non-empty uids list';
      if (uids.length > limits.multicastMaxUids) return `uids has more than ${limits.multicastMaxUids} entries`;
      for (const uid of uids) {
        const problem = checkId('uids entry', uid, limits);
        if (problem) return problem;
      }
      return forbid('uid', 'cohort', 'variant');
    }
    case 'broadcast':
      return forbid('uid', 'uids', 'cohort', 'variant');
    case 'cohort':
      if (!present.cohort) return 'kind cohort needs cohort';
      return checkId('cohort', request.cohort, limits) ?? forbid('uid', 'uids', 'variant');
    case 'split':
      if (request.experimentId === null || !present.variant) return 'kind split needs experimentId and variant';
      return checkId('variant', request.variant, limits) ?? forbid('uid', 'uids', 'cohort');
  }
}

/** The first problem found, or undefined when the request is acceptable. Pure: `now` is passed in. */
export function findProblem(request: IngestRequest, now: number, limits: ValidationLimits = defaultLimits) {
  const idProblem =
    checkId('requestId', request.requestId, limits) ??
    checkId('tid', request.tid, limits) ??
    checkId('experimentId', request.experimentId, limits) ??
    checkId('sender.id', request.sender.id, limits);
  if (idProblem) return idProblem;
  if (blank(request.requestId)) return 'requestId is empty';

  const audienceProblem = checkAudience(request, limits);
  if (audienceProblem) return audienceProblem;

  if (request.urgency !== null && (!Number.isInteger(request.urgency) || request.urgency < 1 || request.urgency > 4)) {
    return `urgency must be 1-4, got ${request.urgency}`;
  }
  if (blank(request.msg) && blank(request.data)) return 'a message needs msg or data';
  if (request.msg !== null && bytes(request.msg) > limits.messageMaxBytes) {
    return `msg is larger than ${limits.messageMaxBytes} bytes`;
  }
  if (request.subject !== null && bytes(request.subject) > limits.subjectMaxBytes) {
    return `subject is larger than ${limits.subjectMaxBytes} bytes`;
  }
  const jsonProblem = checkJson('data', request.data, limits) ?? checkJson('opts', request.opts, limits);
  if (jsonProblem) return jsonProblem;
  if (request.collapseKey !== null) {
    if (blank(request.collapseKey)) return 'collapseKey is empty';
    if (bytes(request.collapseKey) > limits.collapseKeyMaxBytes) {
      return `collapseKey is larger than ${limits.collapseKeyMaxBytes} bytes`;
    }
  }
  if (request.channels !== null && request.channels.length === 0) {
    return 'channels, when given, must name at least one channel';
  }

  if (!Number.isSafeInteger(request.createdAt) || request.createdAt <= 0) return 'createdAt is not a valid time';
  if (request.ttlSeconds !== null && request.ttlSeconds <= 0) return 'ttlSeconds must be positive';
  if (request.expiresAt !== null && request.expiresAt <= request.createdAt) {
    return 'expiresAt is not after createdAt';
  }
  if (request.scheduledAt !== null) {
    if (request.scheduledAt > now + limits.scheduleMaxAheadMs) return 'scheduledAt is too far in the future';
    if (request.expiresAt !== null && request.expiresAt <= request.scheduledAt) {
      return 'expiresAt is not after scheduledAt';
    }
  }
  return undefined;
}

/** Throws the permanent INVALID_REQUEST error for the first problem found. */
export function validateRequest(request: IngestRequest, now: number, limits: ValidationLimits = defaultLimits): void {
  const problem = findProblem(request, now, limits);
  if (problem) throw invalid(problem, request);
}
