import type { Client } from 'cassandra-driver';
import { cassandraError } from '../../pipeline/cassandra/index.ts';
import type { IdempotencyClaim, IdempotencyPort, StoredAnswer } from './ports.ts';

/**
 * `Idempotency-Key` answers in the `idempotency_keys` table (migration 005). A key is claimed with an
 * LWT (`IF NOT EXISTS`) as `pending` for a short lease, so two concurrent first requests cannot both
 * run; the answer then replaces the claim for the whole window. A claim whose request died expires
 * with its lease.
 */

const pendingLeaseSeconds = 120;

export function createIdempotencyStore(client: Client, options: { ttlSeconds: number }): IdempotencyPort {
  const run = async (query: string, params: unknown[], what: string) => {
    try {
      return await client.execute(query, params, { prepare: true });
    } catch (error) {
      throw cassandraError(error, what);
    }
  };

  return {
    async claim(scope, key, fingerprint): Promise<IdempotencyClaim> {
      const result = await run(
        `INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at) VALUES (?, ?, ?, 'pending', ?)
         IF NOT EXISTS USING TTL ${pendingLeaseSeconds}`,
        [scope, key, fingerprint, new Date()],
        'claim an idempotency key',
      );
      if (result.wasApplied()) return { state: 'new' };
      const row = result.first();
      if (row.get('request_hash') !== fingerprint) return { state: 'mismatch' };
      if (row.get('state') !== 'done') return { state: 'pending' };
      const answer: StoredAnswer = { status: row.get('status') as number, body: row.get('body') as string };
      return { state: 'done', answer };
    },

    async complete(scope, key, fingerprint, answer) {
      // Every column is rewritten, so none keeps the claim's short TTL.
      await run(
        `UPDATE idempotency_keys USING TTL ${options.ttlSeconds}
         SET request_hash = ?, state = 'done', status = ?, body = ?, created_at = ?, completed_at = ?
         WHERE scope = ? AND key = ? IF state = 'pending'`,
        [fingerprint, answer.status, answer.body, new Date(), new Date(), scope, key],
        'store an idempotent answer',
      );
    },

    async release(scope, key) {
      await run(
        `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? IF state = 'pending'`,
        [scope, key],
        'release an idempotency key',
      );
    },
  };
}
