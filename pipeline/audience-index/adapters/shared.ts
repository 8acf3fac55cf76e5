import { MsgxcError } from '../../errors/index.ts';
import type { BulkOperation, Json } from './types.ts';

/**
 * Both clients throw a ResponseError carrying `meta.statusCode` and the engine's error body, and
 * connection/timeout errors without a status. Overload (429) and server errors are worth retrying;
 * any other 4xx is a bad request that would fail the same way again.
 */
export function searchError(engine: string, operation: string, error: unknown): MsgxcError {
  if (error instanceof MsgxcError) return error;
  const meta = (error as { meta?: { statusCode?: number; body?: unknown } } | null)?.meta;
  // Connection errors carry `statusCode: null` (opensearch-js) or no meta at all: no answer means unavailable.
  const status = meta?.statusCode ?? undefined;
  const cause = rootCause(meta?.body);
  const reason = cause ? `${cause.type}: ${cause.reason}` : error instanceof Error ? error.message : String(error);
  const retriable = status === undefined || status === 429 || status >= 500;
  return new MsgxcError(
    retriable ? 'SEARCH_UNAVAILABLE' : 'SEARCH_REJECTED',
    `${engine} ${operation} failed${status ? ` (${status})` : ''}: ${reason}`,
    { retriable, cause: error, details: { engine, operation, status, type: cause?.type } },
  );
}

export function statusOf(error: unknown): number | undefined {
  return (error as { meta?: { statusCode?: number | null } } | null)?.meta?.statusCode ?? undefined;
}

function rootCause(body: unknown): { type: string; reason: string } | undefined {
  const error = (body as { error?: unknown } | null | undefined)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const root = (error as { root_cause?: { type: string; reason: string }[] }).root_cause?.[0];
  const top = error as { type?: string; reason?: string };
  const picked = root ?? top;
  return picked.type ? { type: picked.type, reason: picked.reason ?? '' } : undefined;
}

/** The bulk item body both engines return, per operation, under its action name. */
export interface RawBulkItem {
  _id?: string | null;
  status: number;
  result?: string;
  error?: { type: string; reason?: string | null } | null;
}

export function bulkItem(item: Record<string, RawBulkItem | undefined>) {
  const body = item.index ?? item.update ?? item.delete ?? item.create;
  if (!body) return { id: '', status: 0, result: undefined, error: { type: 'unknown', reason: 'empty bulk item' } };
  return {
    id: body._id ?? '',
    status: body.status,
    result: body.result,
    error: body.error ? { type: body.error.type, reason: body.error.reason ?? '' } : undefined,
  };
}

/** The NDJSON action/body pairs both engines' bulk APIs take. */
export function bulkLines(operation: BulkOperation): Json[] {
  const target = { _index: operation.index, _id: operation.id };
  switch (operation.op) {
    case 'index':
      return [{ index: target }, operation.document];
    case 'delete':
      return [{ delete: target }];
    case 'update':
      return [
        { update: { ...target, retry_on_conflict: operation.retryOnConflict } },
        { script: { lang: 'painless', ...operation.script }, upsert: operation.upsert, scripted_upsert: true },
      ];
  }
}

export function isAlreadyExists(error: unknown): boolean {
  const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
  return statusOf(error) === 400 && type === 'resource_already_exists_exception';
}
