import { type Client, concurrent, types } from 'cassandra-driver';
import { cassandraError } from '../cassandra/index.ts';
import { MsgxcError } from '../errors/index.ts';
import {
  type BroadcastEntry,
  broadcastFilter,
  broadcastsOfDay,
  type DayRange,
  rangeClause,
  writeBroadcast,
} from './inbox-broadcasts.ts';
import { execute, idempotent, type Row, text } from './shared.ts';

/**
 * The per-user inbox (migration 008): every message addressed to a user, whatever its audience kind.
 * Fanout writes a page of recipients' rows before it emits that page's delivery batches (a broadcast: one row
 * before any batch, merged in at read time, inbox-broadcasts.ts); the gateway's
 * resume and `GET /api/v1/inbox` read what lies after a cursor. The cursor is a message id (a timeuuid),
 * so the inbox is in message time order and a redelivered job writes the very same rows.
 */

export interface InboxMessage {
  messageId: string;
  kind: string;
  tid: string | null;
  subject: string | null;
  msg: string | null;
  /** The app payload as the JSON string it travels as. */
  data: string | null;
  urgency: number;
  /** Epoch ms the message was created. */
  sentAt: number;
  variant: string | null;
}

/** One recipient's row: the message as this user gets it (their variant's text). */
export interface InboxEntry extends InboxMessage {
  uid: string;
}

export interface InboxPage {
  messages: InboxMessage[];
  /** The id of the last message returned; pass it back as `after` for the next page. */
  next: string | null;
}

/** Rows are kept this long (the table's TTL), so a resume never scans further back. */
export const inboxRetentionDays = 30;
const dayMs = 86_400_000;
/** Rows written at once by one `write`: enough to hide the round trip, few enough for a one-node cluster. */
const writeConcurrency = 64;

export type InboxStore = ReturnType<typeof createInboxStore>;

export function createInboxStore(client: Client, options: { now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  return {
    /** Idempotent upserts, one per recipient; resolves once every row is written. */
    write: (entries: readonly InboxEntry[]): Promise<void> => writeInbox(client, entries),

    /** A broadcast, once for every user it addresses (an idempotent upsert); reads merge it in. */
    writeBroadcast: (entry: BroadcastEntry): Promise<void> =>
      writeBroadcast(client, dayOf(timeOf(entry.messageId)), entry),

    /** Up to `limit` messages after the cursor, oldest first; from the retention window's start without one. */
    after: (uid: string, cursor: string | null, limit: number): Promise<InboxPage> =>
      readAfter(client, now(), uid, cursor, limit),

    /** The newest `limit` messages, oldest first (what a client without a cursor starts from). */
    latest: (uid: string, limit: number): Promise<InboxPage> => readLatest(client, now(), uid, limit),

    /** Marks every message up to and including this id read; the marker never moves back. */
    async markRead(uid: string, upTo: string): Promise<void> {
      await execute(
        client,
        'UPDATE inbox_read USING TIMESTAMP ? SET read_up_to = ?, updated_at = ? WHERE uid = ?',
        [timeOf(upTo) * 1000 + microsOf(upTo), upTo, new Date(now()), uid],
        'mark the inbox read',
        idempotent,
      );
    },

    /** The id up to which the user has read the inbox, or null. */
    async readUpTo(uid: string): Promise<string | null> {
      const result = await execute(
        client,
        'SELECT read_up_to FROM inbox_read WHERE uid = ?',
        [uid],
        'read the inbox marker',
        idempotent,
      );
      const value = result.first()?.get('read_up_to') as types.TimeUuid | null | undefined;
      return value ? value.toString() : null;
    },
  };
}

const insert =
  'INSERT INTO inbox_by_user (uid, day, message_id, kind, tid, subject, msg, data, urgency, sent_at, variant) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

async function writeInbox(client: Client, entries: readonly InboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const params = entries.map((entry) => [
    entry.uid,
    dayOf(timeOf(entry.messageId)),
    entry.messageId,
    entry.kind,
    entry.tid,
    entry.subject,
    entry.msg,
    entry.data,
    entry.urgency,
    new Date(entry.sentAt),
    entry.variant,
  ]);
  try {
    await concurrent.executeConcurrent(client, insert, params, {
      concurrencyLevel: writeConcurrency,
      executionProfile: undefined,
      raiseOnFirstError: true,
    });
  } catch (error) {
    throw cassandraError(error, 'write the inbox');
  }
}

async function readAfter(
  client: Client,
  today: number,
  uid: string,
  cursor: string | null,
  limit: number,
): Promise<InboxPage> {
  const from =
    cursor === null ? today - inboxRetentionDays * dayMs : Math.max(timeOf(cursor), today - inboxRetentionDays * dayMs);
  const admit = broadcastFilter(client, uid);
  const messages: InboxMessage[] = [];
  // One day past today: a sender's clock a little ahead of ours must not hide its messages.
  for (let at = startOfDay(from); at <= today + dayMs && messages.length < limit; at += dayMs) {
    const day = dayOf(at);
    const after = cursor !== null && day === dayOf(timeOf(cursor)) ? cursor : null;
    const range: DayRange = { from: after, order: 'asc', limit: limit - messages.length };
    messages.push(...(await readDay(client, uid, day, range, admit)));
  }
  return { messages, next: messages.at(-1)?.messageId ?? cursor };
}

async function readLatest(client: Client, today: number, uid: string, limit: number): Promise<InboxPage> {
  const admit = broadcastFilter(client, uid);
  const newestFirst: InboxMessage[] = [];
  for (let at = today + dayMs; at >= today - inboxRetentionDays * dayMs && newestFirst.length < limit; at -= dayMs) {
    const range: DayRange = { from: null, order: 'desc', limit: limit - newestFirst.length };
    newestFirst.push(...(await readDay(client, uid, dayOf(at), range, admit)));
  }
  const messages = newestFirst.reverse();
  return { messages, next: messages.at(-1)?.messageId ?? null };
}

/**
 * One day of a user's inbox: their own rows merged with the day's broadcasts that addressed them. Each side
 * is read up to the limit (broadcasts page on until that many addressed the user), so the first `limit` of
 * the merge are the day's first `limit` messages.
 */
async function readDay(
  client: Client,
  uid: string,
  day: number,
  range: DayRange,
  admit: (entry: BroadcastEntry) => Promise<InboxMessage | null>,
): Promise<InboxMessage[]> {
  const { clause, params } = rangeClause(range);
  const [own, broadcasts] = await Promise.all([
    execute(
      client,
      `SELECT * FROM inbox_by_user WHERE uid = ? AND day = ?${clause}`,
      [uid, day, ...params],
      'read the inbox',
      idempotent,
    ).then((result) => result.rows.map(toMessage)),
    addressedBroadcasts(client, day, range, admit),
  ]);
  return mergeDay(own, broadcasts, range).slice(0, range.limit);
}

async function addressedBroadcasts(
  client: Client,
  day: number,
  range: DayRange,
  admit: (entry: BroadcastEntry) => Promise<InboxMessage | null>,
): Promise<InboxMessage[]> {
  const addressed: InboxMessage[] = [];
  let page = await broadcastsOfDay(client, day, range);
  for (;;) {
    for (const entry of page) {
      const message = await admit(entry);
      if (message) addressed.push(message);
    }
    const last = page.at(-1);
    if (addressed.length >= range.limit || page.length < range.limit || last === undefined) return addressed;
    page = await broadcastsOfDay(client, day, { ...range, from: last.messageId });
  }
}

/** Both sides in the range's order, one copy per id (a user's own row wins: rows written before migration 012). */
function mergeDay(own: InboxMessage[], broadcasts: InboxMessage[], range: DayRange): InboxMessage[] {
  const ids = new Set(own.map((message) => message.messageId));
  const merged = [...own, ...broadcasts.filter((message) => !ids.has(message.messageId))];
  const sign = range.order === 'asc' ? 1 : -1;
  return merged.sort((a, b) => sign * compareInboxCursors(a.messageId, b.messageId));
}

/** Is this a message id (a version-1 time UUID)? Cursors from clients are checked with it. */
export function isInboxCursor(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(value);
}

/** The lowest cursor of a moment: resuming after it replays every message created from then on. */
export function inboxCursorAt(at: number): string {
  return types.TimeUuid.min(new Date(at), 0).toString();
}

/** Orders two message ids by time (then by their remaining bits), as Cassandra's timeuuid order does. */
export function compareInboxCursors(a: string, b: string): number {
  const byTime = timeOf(a) - timeOf(b) || microsOf(a) - microsOf(b);
  if (byTime !== 0) return byTime;
  return a < b ? -1 : a > b ? 1 : 0;
}

function timeOf(messageId: string): number {
  if (!isInboxCursor(messageId)) {
    throw new MsgxcError('INVALID_CURSOR', 'a cursor is a message id (a time UUID)', {
      status: 400,
      details: { field: 'after' },
    });
  }
  return types.TimeUuid.fromString(messageId).getDate().getTime();
}

/** The sub-millisecond ticks of a time UUID, so markers within one millisecond still order. */
function microsOf(messageId: string): number {
  return Math.floor(types.TimeUuid.fromString(messageId).getDatePrecision().ticks / 10);
}

function startOfDay(at: number): number {
  return at - (at % dayMs);
}

function dayOf(at: number): number {
  const date = new Date(at);
  return date.getUTCFullYear() * 10_000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
}

function toMessage(row: Row): InboxMessage {
  return {
    messageId: (row.get('message_id') as types.TimeUuid).toString(),
    kind: text(row, 'kind') ?? 'thread',
    tid: text(row, 'tid'),
    subject: text(row, 'subject'),
    msg: text(row, 'msg'),
    data: text(row, 'data'),
    urgency: (row.get('urgency') as number | null) ?? 3,
    sentAt: (row.get('sent_at') as Date | null)?.getTime() ?? 0,
    variant: text(row, 'variant'),
  };
}
