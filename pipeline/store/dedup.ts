import type { Client } from 'cassandra-driver';
import { mapLimit } from '../concurrency/index.ts';
import { execute } from './shared.ts';

/** The de-duplication window: request ids and Idempotency-Key answers are kept this long. */
export const DEDUP_TTL_SECONDS = 86_400;

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

export type DedupStore = ReturnType<typeof createDedupStore>;

/**
 * Request-id de-duplication and stored Idempotency-Key answers, both 24 h by default. Both claim
 * their row with `INSERT … IF NOT EXISTS` (an LWT): of two concurrent first sightings exactly one wins.
 */
export function createDedupStore(client: Client) {
  /**
   * True when this is the first sighting of the request id within the TTL, or when `claimant` (e.g.
   * the source topic/partition/offset) is the one that first saw it: a redelivery of the same record
   * is not a repeat. False for a repeat. A number as second argument is the TTL in seconds.
   */
  async function firstSeen(
    requestId: string,
    ttlOrOptions: number | { ttlSeconds?: number; claimant?: string | null; at?: Date } = {},
  ): Promise<boolean> {
    const options = typeof ttlOrOptions === 'number' ? { ttlSeconds: ttlOrOptions } : ttlOrOptions;
    const claimant = options.claimant ?? null;
    const result = await execute(
      client,
      'INSERT INTO request_ids (request_id, claimant, first_seen_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?',
      [requestId, claimant, options.at ?? new Date(), options.ttlSeconds ?? DEDUP_TTL_SECONDS],
      'check a request id',
    );
    if (result.wasApplied()) return true;
    return claimant !== null && result.rows[0]?.get('claimant') === claimant;
  }

  return {
    firstSeen,

    /** The prioritize stage's `RequestGate.admit`: first sighting, or the same record again. */
    admit(requestId: string, origin: string): Promise<boolean> {
      return firstSeen(requestId, { claimant: origin });
    },

    /** firstSeen over a batch with bounded concurrency; results in input order. */
    firstSeenMany(
      items: readonly { requestId: string; claimant?: string | null }[],
      options: { ttlSeconds?: number; concurrency?: number } = {},
    ): Promise<boolean[]> {
      return mapLimit(items, options.concurrency ?? 16, (item) =>
        firstSeen(item.requestId, { claimant: item.claimant ?? null, ttlSeconds: options.ttlSeconds }),
      );
    },

    /** Claims an Idempotency-Key for a request with this fingerprint, or reports what holds it. */
    async claimIdempotencyKey(
      key: string,
      fingerprint: string,
      options: IdempotencyOptions = {},
    ): Promise<IdempotencyClaim> {
      const scope = options.scope ?? '';
      const ttl = options.ttlSeconds ?? DEDUP_TTL_SECONDS;
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
    },

    /** Stores the answer for the window; false when the key is not (or no longer) this request's. */
    async putIdempotencyResponse(
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
          options.ttlSeconds ?? DEDUP_TTL_SECONDS,
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
    },

    /** Frees a pending claim (its request failed) so the client may retry with the same key. */
    async releaseIdempotencyKey(key: string, options: Pick<IdempotencyOptions, 'scope'> = {}): Promise<void> {
      await execute(
        client,
        "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? IF state = 'pending'",
        [options.scope ?? '', key],
        'release an idempotency key',
      );
    },

    async getIdempotencyKey(key: string, options: Pick<IdempotencyOptions, 'scope'> = {}) {
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
    },
  };
}
