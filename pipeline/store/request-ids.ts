import type { Client, types } from 'cassandra-driver';
import { cassandraError } from '../cassandra/index.ts';
import { mapLimit } from '../concurrency/index.ts';
import { retriable } from '../errors/index.ts';
import { bucketOf } from './shared.ts';

/** The de-duplication window: request ids (and Idempotency-Key answers) are kept this long. */
export const DEDUP_TTL_SECONDS = 86_400;

/** A request id as one record carried it; `origin` is that record's `topic/partition/offset`. */
export interface Sighting {
  requestId: string;
  origin: string;
}

/**
 * Statements per conditional batch: one batch is one Paxos round whatever its size, but the server refuses
 * batches above `batch_size_fail_threshold` (50 KiB by default).
 */
const CLAIMS_PER_BATCH = 100;
/**
 * Partitions a day's request ids are spread over (a constant of the schema, see 011_dedup_shards.cql): a chunk
 * of n requests costs min(n, 64) conditional batches instead of n lightweight transactions.
 */
export const DEDUP_SHARDS = 64;

/**
 * For each sighting (in input order): true when it is the request id's first sighting within the window or
 * the very record that first carried it (a redelivery), false when another record carried the id first.
 *
 * Sightings are grouped by shard (a hash of the request id); each shard's ids are claimed with conditional
 * batches in that shard's partition, whose rows expire after the window. Of two records carrying one id in the
 * same call, the earlier claims it; concurrent callers on one shard are ordered by the batch's Paxos round.
 */
export async function admitSightings(
  client: Client,
  sightings: readonly Sighting[],
  at: Date = new Date(),
): Promise<boolean[]> {
  const byShard = new Map<number, Map<string, string>>();
  for (const { requestId, origin } of sightings) {
    const shard = bucketOf(requestId, DEDUP_SHARDS);
    const ids = byShard.get(shard) ?? new Map<string, string>();
    byShard.set(shard, ids);
    if (!ids.has(requestId)) ids.set(requestId, origin);
  }
  const claimants = new Map<string, string | undefined>();
  await mapLimit([...byShard], 16, async ([shard, firstOrigins]) => {
    const owners = await claimFree(client, shard, firstOrigins, at);
    for (const [requestId, claimant] of owners) claimants.set(requestId, claimant);
  });
  return sightings.map(({ requestId, origin }) => claimants.get(requestId) === origin);
}

/**
 * Who claimed each id of one shard: its first sighting's record, this call's or an earlier one's. A conditional
 * batch applies all or nothing: when some ids exist already, the answer names them (with their claimants), and
 * the batch is sent again without them.
 */
async function claimFree(
  client: Client,
  shard: number,
  firstOrigins: Map<string, string>,
  at: Date,
): Promise<Map<string, string>> {
  const claimants = new Map<string, string>();
  const ids = [...firstOrigins.keys()];
  for (let start = 0; start < ids.length; start += CLAIMS_PER_BATCH) {
    let pending = ids.slice(start, start + CLAIMS_PER_BATCH);
    while (pending.length > 0) {
      const existing = await conditionalInsert(client, shard, pending, firstOrigins, at);
      if (existing === null) {
        for (const id of pending) claimants.set(id, firstOrigins.get(id) as string);
        break;
      }
      for (const [id, claimant] of existing) claimants.set(id, claimant);
      pending = pending.filter((id) => !existing.has(id));
    }
  }
  return claimants;
}

/** null when the batch applied; else the ids that exist already, with their claimants. */
async function conditionalInsert(
  client: Client,
  shard: number,
  ids: string[],
  firstOrigins: Map<string, string>,
  at: Date,
): Promise<Map<string, string> | null> {
  const query =
    'INSERT INTO request_ids_by_shard (shard, request_id, claimant, first_seen_at) ' +
    'VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?';
  const statements = ids.map((id) => ({
    query,
    params: [shard, id, firstOrigins.get(id), at, DEDUP_TTL_SECONDS],
  }));
  let result: types.ResultSet;
  try {
    result = await client.batch(statements, { prepare: true, logged: false });
  } catch (error) {
    throw cassandraError(error, 'claim request ids');
  }
  if (result.wasApplied()) return null;
  const existing = new Map<string, string>();
  for (const row of result.rows) {
    const id = row.get('request_id') as string | null;
    if (id !== null && id !== undefined) existing.set(id, row.get('claimant') as string);
  }
  // A refused batch names the rows that exist; without one, sending it again could not make progress.
  if (existing.size === 0) throw retriable('DEDUP_BATCH_REFUSED', 'a refused conditional batch named no existing row');
  return existing;
}
