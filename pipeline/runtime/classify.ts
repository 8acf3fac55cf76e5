import { errorCode, isRetriable, MsgxcError } from '../errors/index.ts';
import type { ErrorPolicy } from './types.ts';

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
