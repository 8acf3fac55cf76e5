import type { Client } from 'cassandra-driver';
import { mapLimit } from '../concurrency/index.ts';
import {
  claimIdempotencyKey,
  getIdempotencyKey,
  putIdempotencyResponse,
  releaseIdempotencyKey,
} from './idempotency.ts';
import { admitSightings } from './request-ids.ts';
import { bindTo, execute } from './shared.ts';

export type { IdempotencyClaim, IdempotencyOptions, StoredAnswer } from './idempotency.ts';
export { DEDUP_TTL_SECONDS, type Sighting } from './request-ids.ts';

export type DedupStore = ReturnType<typeof createDedupStore>;

/**
 * Request-id de-duplication and stored Idempotency-Key answers, both 24 h by default.
 *
 * - `admit` / `admitMany` (prioritize): the first sightings of a chunk's request ids are claimed with one
 *   conditional batch per shard (request-ids.ts), not one lightweight transaction per request.
 * - `firstSeen` / `firstSeenMany`: ids without an origin, one `INSERT … IF NOT EXISTS` each (request_ids).
 * - Idempotency-Key answers (the HTTP facade): idempotency.ts.
 */
export function createDedupStore(client: Client) {
  const bound = bindTo(client);
  return {
    firstSeen: bound(firstSeen),
    admit: bound(admit),
    admitMany: bound(admitSightings),
    firstSeenMany: bound(firstSeenMany),
    claimIdempotencyKey: bound(claimIdempotencyKey),
    putIdempotencyResponse: bound(putIdempotencyResponse),
    releaseIdempotencyKey: bound(releaseIdempotencyKey),
    getIdempotencyKey: bound(getIdempotencyKey),
  };
}

/**
 * True when this is the first sighting of the request id within the TTL, or when `claimant` (e.g.
 * the source topic/partition/offset) is the one that first saw it: a redelivery of the same record
 * is not a repeat. False for a repeat. A number as second argument is the TTL in seconds.
 */
async function firstSeen(
  client: Client,
  requestId: string,
  ttlOrOptions: number | { ttlSeconds?: number; claimant?: string | null; at?: Date } = {},
): Promise<boolean> {
  const options = typeof ttlOrOptions === 'number' ? { ttlSeconds: ttlOrOptions } : ttlOrOptions;
  const claimant = options.claimant ?? null;
  const result = await execute(
    client,
    'INSERT INTO request_ids (request_id, claimant, first_seen_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?',
    [requestId, claimant, options.at ?? new Date(), options.ttlSeconds ?? 86_400],
    'check a request id',
  );
  if (result.wasApplied()) return true;
  return claimant !== null && result.rows[0]?.get('claimant') === claimant;
}

/** firstSeen over a batch with bounded concurrency; results in input order. */
function firstSeenMany(
  client: Client,
  items: readonly { requestId: string; claimant?: string | null }[],
  options: { ttlSeconds?: number; concurrency?: number } = {},
): Promise<boolean[]> {
  return mapLimit(items, options.concurrency ?? 16, (item) =>
    firstSeen(client, item.requestId, { claimant: item.claimant ?? null, ttlSeconds: options.ttlSeconds }),
  );
}

/** The prioritize stage's `RequestGate.admit`: first sighting, or the same record (`origin`) again. */
async function admit(client: Client, requestId: string, origin: string): Promise<boolean> {
  const [admitted] = await admitSightings(client, [{ requestId, origin }]);
  return admitted === true;
}
