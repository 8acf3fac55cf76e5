import type { Client } from 'cassandra-driver';
import { execute } from './shared.ts';

/** Idempotency-Key answers are kept this long by default (the de-duplication window). */
const DEFAULT_TTL_SECONDS = 86_400;

export interface StoredAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** The outcome of claiming an Idempotency-Key (the HTTP facade's `IdempotencyClaim`). */
export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'done'; answer: StoredAnswer }
  | { state: 'pending' }
  | { state: 'mismatch' };

export interface IdempotencyOptions {
  /** Keys are per caller; the facade may instead fold the caller into the key itself. */
  scope?: string;
  ttlSeconds?: number;
  /** A pending claim older than this is taken over: its request died without an answer. */
  staleAfterMs?: number;
}

/** Claims an Idempotency-Key for a request with this fingerprint, or reports what holds it. */
export async function claimIdempotencyKey(
  client: Client,
  key: string,
  fingerprint: string,
  options: IdempotencyOptions = {},
): Promise<IdempotencyClaim> {
  const scope = options.scope ?? '';
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const now = new Date();
  const result = await execute(
    client,
    'INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at) ' +
      "VALUES (?, ?, ?, 'pending', ?) IF NOT EXISTS USING TTL ?",
    [scope, key, fingerprint, now, ttl],
    'claim an idempotency key',
  );
  if (result.wasApplied()) return { state: 'new' };
  const row = result.rows[0];
  if (row?.get('request_hash') !== fingerprint) return { state: 'mismatch' };
  if (row.get('state') === 'done') {
    const answer: StoredAnswer = { status: row.get('status') as number, body: row.get('body') as string };
    const headers = row.get('headers') as Record<string, string> | null;
    if (headers) answer.headers = headers;
    return { state: 'done', answer };
  }
  const createdAt = row.get('created_at') as Date | null;
  if (createdAt !== null && now.getTime() - createdAt.getTime() > (options.staleAfterMs ?? 60_000)) {
    const takeover = await execute(
      client,
      'UPDATE idempotency_keys USING TTL ? SET created_at = ?, request_hash = ?, state = ? ' +
        "WHERE scope = ? AND key = ? IF state = 'pending' AND created_at = ?",
      [ttl, now, fingerprint, 'pending', scope, key, createdAt],
      'take over a stale idempotency key',
    );
    if (takeover.wasApplied()) return { state: 'new' };
  }
  return { state: 'pending' };
}

/** Stores the answer for the window; false when the key is not (or no longer) this request's. */
export async function putIdempotencyResponse(
  client: Client,
  key: string,
  fingerprint: string,
  answer: StoredAnswer,
  options: IdempotencyOptions = {},
): Promise<boolean> {
  // Every cell is rewritten with the TTL, so none of them expires before the others.
  const result = await execute(
    client,
    'UPDATE idempotency_keys USING TTL ? SET state = ?, request_hash = ?, status = ?, body = ?, headers = ?, ' +
      'completed_at = ? WHERE scope = ? AND key = ? IF request_hash = ?',
    [
      options.ttlSeconds ?? DEFAULT_TTL_SECONDS,
      'done',
      fingerprint,
      answer.status,
      answer.body,
      answer.headers ?? null,
      new Date(),
      options.scope ?? '',
      key,
      fingerprint,
    ],
    'store an idempotent answer',
  );
  return result.wasApplied();
}

/** Frees a pending claim (its request failed) so the client may retry with the same key. */
export async function releaseIdempotencyKey(
  client: Client,
  key: string,
  options: Pick<IdempotencyOptions, 'scope'> = {},
): Promise<void> {
  await execute(
    client,
    "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? IF state = 'pending'",
    [options.scope ?? '', key],
    'release an idempotency key',
  );
}

export async function getIdempotencyKey(client: Client, key: string, options: Pick<IdempotencyOptions, 'scope'> = {}) {
  const result = await execute(
    client,
    'SELECT request_hash, state, status, body, headers, created_at, completed_at FROM idempotency_keys ' +
      'WHERE scope = ? AND key = ?',
    [options.scope ?? '', key],
    'read an idempotency key',
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    fingerprint: row.get('request_hash') as string,
    state: row.get('state') as 'pending' | 'done',
    answer:
      row.get('state') === 'done'
        ? ({ status: row.get('status') as number, body: row.get('body') as string } as StoredAnswer)
        : null,
    createdAt: (row.get('created_at') as Date | null) ?? null,
    completedAt: (row.get('completed_at') as Date | null) ?? null,
  };
}
