import type { IngestRequest } from '../../schemas/types.generated.ts';
import type { Config } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';
import { controlCharacters, illFormedField } from './text.ts';

/**
 * The ingest contract: the checks an `IngestRequest` must pass that the Avro schema cannot express — fields
 * that fit together (kind vs audience fields), numbers in range, text that is well-formed Unicode, payloads
 * within what the channels carry. One contract for every writer and reader of the ingest topic: the HTTP
 * facade refuses (400) what fails it, the typed producer (`pipeline/ingest-producer`) throws before
 * sending, and prioritize dead-letters what still arrives (a direct producer) with the reason in headers.
 * So what the API accepts, the pipeline delivers.
 */

export interface ValidationLimits {
  /** Largest `msg` in UTF-8 bytes (MSGXC_MESSAGE_MAX_BYTES). */
  messageMaxBytes: number;
  /** Largest `data` and `opts` in UTF-8 bytes each: push providers cap the whole payload near 4 KiB. */
  payloadMaxBytes: number;
  subjectMaxBytes: number;
  /** Most uids in one multicast; bigger audiences belong in a cohort. */
  multicastMaxUids: number;
  /** Ids (user ids, thread ids, request ids…): the longest a token's `sub` may be. */
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
  idMaxLength: 256,
  collapseKeyMaxBytes: 64,
  scheduleMaxAheadMs: 366 * 24 * 3_600_000,
};

/** The limits this deployment runs with (the message size is configuration). */
export const ingestLimits = (config: Pick<Config, 'http'>): ValidationLimits => ({
  ...defaultLimits,
  messageMaxBytes: config.http.messageMaxBytes,
});

export const INVALID_REQUEST = 'INVALID_REQUEST';

/** A broken rule: the ingest field it is about (`sender.id`, `uids`, …) and why. */
export interface ContractIssue {
  field: string;
  message: string;
}

export function invalid(reason: string, request: Pick<IngestRequest, 'requestId'> | undefined): MsgxcError {
  return new MsgxcError(INVALID_REQUEST, reason, {
    retriable: false,
    status: 400,
    details: request ? { requestId: request.requestId } : {},
  });
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const blank = (text: string | null | undefined) => text === null || text === undefined || text.trim() === '';
const issue = (field: string, message: string | undefined): ContractIssue | undefined =>
  message === undefined ? undefined : { field, message };

/** The rule for every id: not empty, not too long, no control characters (they end up in keys and log lines). */
export function idProblem(name: string, value: string, maxLength = defaultLimits.idMaxLength): string | undefined {
  if (blank(value)) return `${name} is empty`;
  if (value.length > maxLength) return `${name} is longer than ${maxLength} characters`;
  if (controlCharacters.test(value)) return `${name} contains control characters`;
  return undefined;
}

const checkId = (name: string, value: string | null, limits: ValidationLimits) =>
  value === null ? undefined : issue(name, idProblem(name, value, limits.idMaxLength));

function checkJson(name: string, value: string | null, limits: ValidationLimits): ContractIssue | undefined {
  if (value === null) return undefined;
  if (bytes(value) > limits.payloadMaxBytes)
    return issue(name, `${name} is larger than ${limits.payloadMaxBytes} bytes`);
  try {
    JSON.parse(value);
  } catch {
    return issue(name, `${name} is not valid JSON`);
  }
  return undefined;
}

/** Which audience fields each kind needs, and which it must leave empty (a contradiction is a caller bug). */
function checkAudience(request: IngestRequest, limits: ValidationLimits): ContractIssue | undefined {
  const present = {
    tid: request.tid !== null,
    uid: request.uid !== null,
    uids: request.uids !== null,
    cohort: request.cohort !== null,
    variant: request.variant !== null,
  };
  const forbid = (...fields: (keyof typeof present)[]) => {
    const extra = fields.filter((field) => present[field]);
    return extra.length > 0 ? issue(extra[0]!, `kind ${request.kind} does not take ${extra.join(', ')}`) : undefined;
  };
  switch (request.kind) {
    case 'publish':
      if (!present.tid) return issue('tid', 'kind publish needs tid');
      return forbid('uid', 'uids', 'cohort', 'variant');
    case 'send':
      if (!present.uid) return issue('uid', 'kind send needs uid');
      return checkId('uid', request.uid, limits) ?? forbid('uids', 'cohort', 'variant');
    case 'multicast': {
      const uids = request.uids;
      if (!uids || uids.length === 0) return issue('uids', 'kind multicast needs a non-empty uids list');
      if (uids.length > limits.multicastMaxUids) {
        return issue('uids', `uids has more than ${limits.multicastMaxUids} entries`);
      }
      for (const uid of uids) {
        const problem = idProblem('uids entry', uid, limits.idMaxLength);
        if (problem) return issue('uids', problem);
      }
      return forbid('uid', 'cohort', 'variant');
    }
    case 'broadcast':
      return forbid('uid', 'uids', 'cohort', 'variant');
    case 'cohort':
      if (!present.cohort) return issue('cohort', 'kind cohort needs cohort');
      return checkId('cohort', request.cohort, limits) ?? forbid('uid', 'uids', 'variant');
    case 'split':
      if (request.experimentId === null || !present.variant) {
        return issue('variant', 'kind split needs experimentId and variant');
      }
      return checkId('variant', request.variant, limits) ?? forbid('uid', 'uids', 'cohort');
  }
}

function checkContent(request: IngestRequest, limits: ValidationLimits): ContractIssue | undefined {
  if (request.urgency !== null && (!Number.isInteger(request.urgency) || request.urgency < 1 || request.urgency > 4)) {
    return issue('urgency', `urgency must be 1-4, got ${request.urgency}`);
  }
  if (blank(request.msg) && blank(request.data)) return issue('msg', 'a message needs msg or data');
  if (request.msg !== null && bytes(request.msg) > limits.messageMaxBytes) {
    return issue('msg', `msg is larger than ${limits.messageMaxBytes} bytes`);
  }
  if (request.subject !== null && bytes(request.subject) > limits.subjectMaxBytes) {
    return issue('subject', `subject is larger than ${limits.subjectMaxBytes} bytes`);
  }
  const jsonProblem = checkJson('data', request.data, limits) ?? checkJson('opts', request.opts, limits);
  if (jsonProblem) return jsonProblem;
  if (request.collapseKey !== null) {
    if (blank(request.collapseKey)) return issue('collapseKey', 'collapseKey is empty');
    if (bytes(request.collapseKey) > limits.collapseKeyMaxBytes) {
      return issue('collapseKey', `collapseKey is larger than ${limits.collapseKeyMaxBytes} bytes`);
    }
  }
  if (request.channels !== null && request.channels.length === 0) {
    return issue('channels', 'channels, when given, must name at least one channel');
  }
  return undefined;
}

function checkTimes(request: IngestRequest, now: number, limits: ValidationLimits): ContractIssue | undefined {
  if (!Number.isSafeInteger(request.createdAt) || request.createdAt <= 0) {
    return issue('createdAt', 'createdAt is not a valid time');
  }
  if (request.ttlSeconds !== null && request.ttlSeconds <= 0) return issue('ttlSeconds', 'ttlSeconds must be positive');
  if (request.expiresAt !== null && request.expiresAt <= request.createdAt) {
    return issue('expiresAt', 'expiresAt is not after createdAt');
  }
  if (request.scheduledAt !== null) {
    if (request.scheduledAt > now + limits.scheduleMaxAheadMs) {
      return issue('scheduledAt', 'scheduledAt is too far in the future');
    }
    if (request.expiresAt !== null && request.expiresAt <= request.scheduledAt) {
      return issue('expiresAt', 'expiresAt is not after scheduledAt');
    }
  }
  return undefined;
}

/** The first broken rule with its field, or undefined when the request is acceptable. Pure: `now` is passed in. */
export function findIssue(
  request: IngestRequest,
  now: number,
  limits: ValidationLimits = defaultLimits,
): ContractIssue | undefined {
  const text = illFormedField(request);
  if (text !== undefined) return issue(text, `${text} is not well-formed Unicode (a lone surrogate)`);
  return (
    checkId('requestId', request.requestId, limits) ??
    checkId('tid', request.tid, limits) ??
    checkId('experimentId', request.experimentId, limits) ??
    checkId('sender.id', request.sender.id, limits) ??
    checkAudience(request, limits) ??
    checkContent(request, limits) ??
    checkTimes(request, now, limits)
  );
}

/** The first problem found, or undefined when the request is acceptable. */
export function findProblem(request: IngestRequest, now: number, limits: ValidationLimits = defaultLimits) {
  return findIssue(request, now, limits)?.message;
}

/** Throws the permanent INVALID_REQUEST error for the first problem found. */
export function validateRequest(request: IngestRequest, now: number, limits: ValidationLimits = defaultLimits): void {
  const problem = findProblem(request, now, limits);
  if (problem) throw invalid(problem, request);
}
