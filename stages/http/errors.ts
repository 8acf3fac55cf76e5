import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { lacksCredentials } from '../../pipeline/auth/index.ts';
import { createDeadlines } from '../../pipeline/concurrency/deadline.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';

/**
 * How failures become answers. A client's mistake is a 4xx with a machine-readable `error` code; an
 * unreachable dependency is a 503 with `Retry-After`; anything else is a 500 that is logged, because it
 * is a bug. Dependencies are called through `dependency()`, which turns whatever their drivers throw into
 * a retriable 503 so no driver error type leaks into the routes.
 */

export const retryAfterSeconds = 5;

export interface ErrorBody {
  error: string;
  message: string;
  issues?: { path: (string | number)[]; message: string }[];
}

export function errorResponse(c: Context, error: unknown, log: Logger): Response {
  const { status, body } = describe(error);
  if (status === 503) c.header('Retry-After', String(retryAfterSeconds));
  const retryAfter = error instanceof MsgxcError ? error.details?.retryAfterSeconds : undefined;
  if (status === 429 && typeof retryAfter === 'number') c.header('Retry-After', String(retryAfter));
  if (status === 401) {
    // RFC 6750 §3.1: no error code when the request carried no bearer token at all; otherwise the reason,
    // quoted without characters that would break the header.
    c.header(
      'WWW-Authenticate',
      lacksCredentials(error)
        ? 'Bearer realm="msgxc"'
        : `Bearer error="invalid_token", error_description="${body.message.replace(/["\\]/g, '')}"`,
    );
  }
  if (status === 503) {
    log.warn({ err: error, status, code: body.error }, 'dependency unavailable');
  } else if (status >= 500) {
    log.error({ err: error, status, code: body.error }, 'request failed');
  } else if (status === 401 || status === 403) {
    log.info({ status, code: body.error, reason: body.message }, 'request refused');
  }
  return c.json(body, status as ContentfulStatusCode);
}

function describe(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof MsgxcError) {
    // A 5xx is reported without its internals: the cause goes to the log only.
    const status = error.status;
    const body: ErrorBody = {
      error: error.code,
      message: status >= 500 && status !== 503 ? 'internal error' : error.message,
    };
    const issues = error.details?.issues;
    if (Array.isArray(issues)) body.issues = issues as ErrorBody['issues'];
    return { status, body };
  }
  if (error instanceof HTTPException) {
    const status = error.status;
    return { status, body: { error: status === 413 ? 'PAYLOAD_TOO_LARGE' : `HTTP_${status}`, message: error.message } };
  }
  return { status: 500, body: { error: 'INTERNAL', message: 'internal error' } };
}

/** A dependency (Kafka, registry, Cassandra, DNS) could not do its part. */
export const unavailable = (dependency: string, cause?: unknown) =>
  new MsgxcError('SERVICE_UNAVAILABLE', `${dependency} is unavailable, try again later`, {
    status: 503,
    retriable: true,
    cause,
    details: { dependency },
  });

/**
 * Runs one call into a dependency with a deadline. A retriable failure or anything a driver throws becomes
 * a 503; a permanent MsgxcError from below is a bug in how the facade called it (input was validated), so
 * it becomes a 500 with the cause logged. The deadline fires up to 100 ms late (one sweep for all calls).
 */
export async function dependency<T>(name: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  try {
    return await deadlines.within(call(), timeoutMs, () =>
      unavailable(name, new Error(`no answer within ${timeoutMs} ms`)),
    );
  } catch (error) {
    if (error instanceof MsgxcError) {
      if (error.code === 'SERVICE_UNAVAILABLE') throw error;
      if (error.retriable) throw unavailable(name, error);
      // A store's own verdict on the request (404 no such thread, 409 alias taken) is the client's answer…
      if (error.status < 500 && !facadeBugs.has(error.code)) throw error;
      // …but a record that does not fit its schema after validation is the facade's bug.
      throw new MsgxcError('INTERNAL', `${name} refused a request the facade built`, { status: 500, cause: error });
    }
    throw unavailable(name, error);
  }
}

/** One sweep for every dependency call's deadline rather than a timer each (pipeline/concurrency/deadline.ts). */
const deadlines = createDeadlines();

const facadeBugs = new Set(['SCHEMA_VIOLATION', 'UNKNOWN_TOPIC', 'NO_SCHEMA']);

export const forbidden = (message: string) => new MsgxcError('FORBIDDEN', message, { status: 403 });
export const notFound = (what: string) => new MsgxcError('NOT_FOUND', `${what} not found`, { status: 404 });
export const conflict = (code: string, message: string) => new MsgxcError(code, message, { status: 409 });
