import type { Client } from 'cassandra-driver';
import type { Channel, FanoutJob } from '../../schemas/types.generated.ts';
import { cassandraError } from '../cassandra/index.ts';
import type { EscalationEntry, PlannedDelivery } from '../records/escalation.ts';
import { bindTo } from './shared.ts';

/**
 * Escalation deadlines of unacknowledged urgent messages (migration 007): fanout records one per
 * recipient of a plan-fallback job; the ack stage's sweep reads those that fell due and claims each with a
 * lightweight transaction, so two sweeping instances never both escalate.
 */

const shards = 4;
const minuteMs = 60_000;
/** How far back a sweep looks for due rows: an ack stage down longer than this leaves older rows unescalated. */
export const sweepLookbackMs = 15 * minuteMs;

export interface DueEscalation {
  minute: Date;
  shard: number;
  dueAt: Date;
  messageId: string;
  uid: string;
  channel: Channel;
  variant: string | null;
  locale: string | null;
  fallback: PlannedDelivery[];
}

export type EscalationStore = ReturnType<typeof createEscalationStore>;

export function createEscalationStore(client: Client) {
  const bound = bindTo(client);
  return {
    record: bound(record),
    due: bound(due),
    settle: bound(settle),
    job: bound(job),
  };
}

async function run(client: Client, query: string, params: unknown[], what: string) {
  try {
    return await client.execute(query, params, { prepare: true });
  } catch (error) {
    throw cassandraError(error, what);
  }
}

/** Idempotent: a redelivered job writes the same rows (same deadline key) again. */
async function record(client: Client, job: FanoutJob, entries: readonly EscalationEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const template = { ...job, audience: { ...job.audience, uids: null } };
  await run(
    client,
    'INSERT INTO escalation_messages (message_id, job) VALUES (?, ?)',
    [job.messageId, JSON.stringify(template)],
    'record an escalation message',
  );
  const at = new Date();
  // Bounded concurrency: entries arrive in chunks of a few hundred.
  await Promise.all(
    entries.map((entry) =>
      run(
        client,
        `INSERT INTO escalations (minute, shard, due_at, message_id, uid, channel, variant, locale, fallback, state, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) IF NOT EXISTS`,
        [
          minuteOf(entry.dueAt),
          shardOf(entry.messageId, entry.uid),
          new Date(entry.dueAt),
          entry.messageId,
          entry.uid,
          entry.channel,
          entry.variant,
          entry.locale,
          JSON.stringify(entry.fallback),
          at,
        ],
        'record an escalation deadline',
      ),
    ),
  );
}

/** Pending rows whose deadline is at or before `now`, from the lookback window. */
async function due(client: Client, now: number): Promise<DueEscalation[]> {
  const rows: DueEscalation[] = [];
  for (
    let minute = minuteOf(now - sweepLookbackMs);
    minute.getTime() <= now;
    minute = new Date(minute.getTime() + minuteMs)
  ) {
    for (let shard = 0; shard < shards; shard++) {
      const result = await run(
        client,
        'SELECT due_at, message_id, uid, channel, variant, locale, fallback, state FROM escalations WHERE minute = ? AND shard = ? AND due_at <= ?',
        [minute, shard, new Date(now)],
        'read due escalations',
      );
      for (const row of result.rows) {
        if (row.get('state') !== 'pending') continue;
        rows.push({
          minute,
          shard,
          dueAt: row.get('due_at') as Date,
          messageId: row.get('message_id') as string,
          uid: row.get('uid') as string,
          channel: row.get('channel') as Channel,
          variant: (row.get('variant') as string | null) ?? null,
          locale: (row.get('locale') as string | null) ?? null,
          fallback: JSON.parse(row.get('fallback') as string) as PlannedDelivery[],
        });
      }
    }
  }
  return rows;
}

/** Moves a pending row to `state`; true for the one caller whose transition applied. */
async function settle(
  client: Client,
  row: DueEscalation,
  state: 'acknowledged' | 'escalated' | 'pending',
  owner: string,
  from = 'pending',
): Promise<boolean> {
  const result = await run(
    client,
    'UPDATE escalations SET state = ?, owner = ?, updated_at = ? WHERE minute = ? AND shard = ? AND due_at = ? AND message_id = ? AND uid = ? IF state = ?',
    [state, owner, new Date(), row.minute, row.shard, row.dueAt, row.messageId, row.uid, from],
    'settle an escalation',
  );
  return result.wasApplied();
}

async function job(client: Client, messageId: string): Promise<FanoutJob | null> {
  const result = await run(
    client,
    'SELECT job FROM escalation_messages WHERE message_id = ?',
    [messageId],
    'read an escalation message',
  );
  const text = result.rows[0]?.get('job') as string | undefined;
  return text ? (JSON.parse(text) as FanoutJob) : null;
}

function minuteOf(at: number): Date {
  return new Date(Math.floor(at / minuteMs) * minuteMs);
}

function shardOf(messageId: string, uid: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${messageId}\0${uid}`) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  return hash % shards;
}
