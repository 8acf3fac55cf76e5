import type { Client, types } from 'cassandra-driver';
import type { Experiment } from '../../schemas/types.generated.ts';
import { createVariantAssigner } from '../records/variants.ts';
import type { InboxMessage } from './inbox.ts';
import { execute, idempotent, type Row, text } from './shared.ts';
import { createUserStore, isOptedOut } from './user.ts';

/**
 * Broadcasts in the inbox (migration 012): one row per broadcast, merged into each user's inbox when it is
 * read, instead of a row per user written while the broadcast fans out. `addressedTo` keeps a broadcast only
 * for the users it addressed, as fanout decides: not opted out, not in the experiment's holdout (and with
 * their variant's text), and existing when it was sent.
 */

/** A broadcast as the inbox keeps it: the message and, for an experiment, the experiment itself. */
export interface BroadcastEntry {
  messageId: string;
  subject: string | null;
  msg: string | null;
  data: string | null;
  urgency: number;
  sentAt: number;
  experiment: Experiment | null;
}

export async function writeBroadcast(client: Client, day: number, entry: BroadcastEntry): Promise<void> {
  await execute(
    client,
    'INSERT INTO inbox_broadcasts (day, message_id, subject, msg, data, urgency, sent_at, experiment) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [
      day,
      entry.messageId,
      entry.subject,
      entry.msg,
      entry.data,
      entry.urgency,
      new Date(entry.sentAt),
      entry.experiment === null ? null : JSON.stringify(entry.experiment),
    ],
    'write the broadcast to the inbox',
    idempotent,
  );
}

/** A read of one UTC day's rows: in `order`, past the `from` id (exclusive) when there is one. */
export interface DayRange {
  from: string | null;
  order: 'asc' | 'desc';
  limit: number;
}

/** The CQL tail of a day's read: the bound on the id past `from`, the order, the limit. */
export function rangeClause(range: DayRange): { clause: string; params: unknown[] } {
  const bound = range.from === null ? '' : range.order === 'asc' ? ' AND message_id > ?' : ' AND message_id < ?';
  const order = range.order === 'desc' ? ' ORDER BY message_id DESC' : '';
  return {
    clause: `${bound}${order} LIMIT ?`,
    params: [...(range.from === null ? [] : [range.from]), range.limit],
  };
}

/** Up to `limit` broadcasts of one UTC day, as `range` asks. */
export async function broadcastsOfDay(client: Client, day: number, range: DayRange): Promise<BroadcastEntry[]> {
  const { clause, params } = rangeClause(range);
  const result = await execute(
    client,
    `SELECT * FROM inbox_broadcasts WHERE day = ?${clause}`,
    [day, ...params],
    'read the inbox broadcasts',
    idempotent,
  );
  return result.rows.map(toEntry);
}

/**
 * Decides, for one user, which broadcasts addressed them. What it needs of the user (creation time, global
 * opt-out) is read once, on the first broadcast it is asked about.
 */
export function broadcastFilter(client: Client, uid: string): (entry: BroadcastEntry) => Promise<InboxMessage | null> {
  let facts: Promise<{ createdAt: number | null; optedOut: boolean }> | undefined;
  const users = createUserStore(client);
  const load = async () => {
    const [profile, preferences] = await Promise.all([users.getUser(uid), users.preferencesOf(uid)]);
    return {
      createdAt: profile?.createdAt?.getTime() ?? null,
      optedOut: isOptedOut(preferences.global),
    };
  };
  return async (entry) => {
    facts ??= load();
    const { createdAt, optedOut } = await facts;
    if (optedOut || (createdAt !== null && createdAt > entry.sentAt)) return null;
    return addressedTo(entry, uid);
  };
}

/** The broadcast as this user gets it: their variant's text, or nothing when the experiment holds them out. */
export function addressedTo(entry: BroadcastEntry, uid: string): InboxMessage | null {
  const base = { messageId: entry.messageId, kind: 'everyone' as const, tid: null, data: entry.data };
  const common = { ...base, urgency: entry.urgency, sentAt: entry.sentAt };
  if (entry.experiment === null) return { ...common, subject: entry.subject, msg: entry.msg, variant: null };
  const name = createVariantAssigner(entry.experiment).assign(uid);
  if (name === null) return null;
  const variant = entry.experiment.variants.find((candidate) => candidate.name === name);
  return {
    ...common,
    subject: variant?.subject ?? entry.subject,
    msg: variant?.msg ?? entry.msg,
    variant: name,
  };
}

function toEntry(row: Row): BroadcastEntry {
  const experiment = text(row, 'experiment');
  return {
    messageId: (row.get('message_id') as types.TimeUuid).toString(),
    subject: text(row, 'subject'),
    msg: text(row, 'msg'),
    data: text(row, 'data'),
    urgency: (row.get('urgency') as number | null) ?? 3,
    sentAt: (row.get('sent_at') as Date | null)?.getTime() ?? 0,
    experiment: experiment === null ? null : (JSON.parse(experiment) as Experiment),
  };
}
