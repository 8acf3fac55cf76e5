import { errorCode, isRetriable, MsgxcError } from '../errors/index.ts';
import type { ErrorPolicy } from './types.ts';

/**
 * Every judgement the runtime makes about an error lives here: whether a handler's or a decoder's failure is
 * retriable or permanent (`classify…`), whether an error means the stage is stopping (`isShutdown`), the
 * group is rebalancing (`isRebalance`) or a streaming produce failed (`isOutputFlush`).
 */

/**
 * Thrown when the process is stopping while a chunk is still failing: its records are neither produced nor
 * set aside, and stay uncommitted so the group's next owner of the partition handles them.
 */
export class ChunkAbandonedError extends Error {
  constructor() {
    super('chunk abandoned: the stage is stopping');
    this.name = 'ChunkAbandonedError';
  }
}

/**
 * A streaming handler's part-way produce failed: not the records' fault, so it is not retried or bisected
 * like a handler failure; the cause ends the fetched batch, as a failed produce at the chunk's end does.
 */
export class OutputFlushError extends Error {
  constructor(cause: unknown) {
    super("producing part of a streaming handler's outputs failed", { cause });
    this.name = 'OutputFlushError';
  }
}

export interface Failure {
  code: string;
  message: string;
  retriable: boolean;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * A handler's error: the stage's own classifier first, then `MsgxcError.retriable`; anything else is a
 * surprise from a driver or the network and is retried rather than dead-lettered.
 */
export function classifyHandlerError(error: unknown, policy?: Pick<ErrorPolicy, 'classify'>): Failure {
  const verdict = policy?.classify?.(error);
  const retriable = verdict === undefined ? isRetriable(error) : verdict === 'retriable';
  return { code: errorCode(error), message: messageOf(error), retriable };
}

/**
 * A decoding error: bytes that do not parse will never parse, so unknown errors are permanent here. Only a
 * serde that says so (a `MsgxcError` marked retriable, e.g. the registry is unreachable) earns a retry.
 */
export function classifyDecodeError(error: unknown): Failure {
  if (error instanceof MsgxcError) return { code: error.code, message: error.message, retriable: error.retriable };
  return { code: 'DECODE_FAILED', message: messageOf(error), retriable: false };
}

/** The stage is stopping: the chunk in hand is left uncommitted for the partition's next owner. */
export function isShutdown(error: unknown): error is ChunkAbandonedError {
  return error instanceof ChunkAbandonedError;
}

/** A streaming handler's part-way produce failed: the batch ends, the records are not blamed. */
export function isOutputFlush(error: unknown): error is OutputFlushError {
  return error instanceof OutputFlushError;
}

const rebalanceTypes = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION']);

/**
 * The group is rebalancing (a heartbeat or commit said so): the batch ends and kafkajs rejoins; the offsets
 * not committed are redone by the partition's next owner.
 */
export function isRebalance(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' && rebalanceTypes.has(type);
}

/** Kafka error types that mean the group's coordinator or a broker is away for now. */
const unavailableTypes = new Set([
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'NOT_COORDINATOR',
  'BROKER_NOT_AVAILABLE',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
]);
const unavailableNames = new Set([
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSMetadataNotLoaded',
]);

/** `@platformatic/kafka`'s (the stages' producer): a connection lost or refused, a request timed out. */
const unavailableCodes = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);

/**
 * The consumer crashed because the cluster is away (a broker restarting, a coordinator loading or moving),
 * not because of anything the stage did: it can join again once the cluster is back. kafkajs marks some of
 * these permanent (`KafkaJSGroupCoordinatorNotFound`, tulios/kafkajs#1630) and does not restart for them.
 * Looks through the clients' wrappers (`cause`, and the errors of `@platformatic/kafka`'s aggregates).
 */
export function isClusterUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { type, name, code, apiId, cause, errors } = error as Record<string, unknown>;
  if (typeof type === 'string' && unavailableTypes.has(type)) return true;
  if (typeof apiId === 'string' && unavailableTypes.has(apiId)) return true;
  if (typeof name === 'string' && unavailableNames.has(name)) return true;
  if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  if (Array.isArray(errors) && errors.some((item) => isClusterUnavailable(item, depth + 1))) return true;
  return cause !== undefined && cause !== error && isClusterUnavailable(cause, depth + 1);
}
