import type { Client } from 'cassandra-driver';
import { MsgxcError } from '../errors/index.ts';
import { createDeliveryMethods } from './message-delivery.ts';
import { checkMessageId, dayOf, microsOf, type ReadMarker, type StoredMessage } from './message-types.ts';
import { batch, bindTo, date, execute, idempotent, list, type Row, text } from './shared.ts';

export { DELIVERY_BUCKETS } from './message-delivery.ts';
export * from './message-types.ts';

const messageColumns =
  'message_id, tid, request_id, kind, audience, sender_kind, sender_id, subject, msg, opts, data, urgency, ' +
  'channels, collapse_key, experiment_id, created_at, scheduled_at, expires_at, stored_at, trace';
const placeholders = messageColumns.split(',').map(() => '?');

export type MessageStore = ReturnType<typeof createMessageStore>;

/** Messages by thread and by id, per-recipient delivery state with summary counters, read markers. */
export function createMessageStore(client: Client) {
  const bound = bindTo(client);
  return {
    getMessage: bound(getMessage),
    saveMessage: bound(saveMessage),
    messagesAfter: bound(messagesAfter),
    setReadMarker: bound(setReadMarker),
    readMarker: bound(readMarker),
    readMarkersOf: bound(readMarkersOf),
    ...createDeliveryMethods(client, bound(getMessage)),
  };
}

async function getMessage(client: Client, messageId: string): Promise<StoredMessage | null> {
  const result = await execute(
    client,
    `SELECT ${messageColumns} FROM messages_by_id WHERE message_id = ?`,
    [checkMessageId(messageId)],
    'read a message',
  );
  const row = result.rows[0];
  return row ? toMessage(row) : null;
}

/** One day's messages of a thread: newest first, or oldest first (optionally after a message id). */
async function readDay(
  client: Client,
  tid: string,
  day: number,
  order: { ascending: boolean; after?: string },
  limit: number,
): Promise<StoredMessage[]> {
  const after = order.after === undefined ? '' : 'AND message_id > ? ';
  const result = await execute(
    client,
    `SELECT ${messageColumns} FROM messages_by_thread WHERE tid = ? AND day = ? ${after}` +
      `ORDER BY message_id ${order.ascending ? 'ASC' : 'DESC'} LIMIT ?`,
    order.after === undefined ? [tid, day, limit] : [tid, day, order.after, limit],
    'read messages',
  );
  return result.rows.map(toMessage);
}

/** Stores a message under its id and, when it has one, its thread. Same id, same rows: idempotent. */
async function saveMessage(client: Client, message: StoredMessage): Promise<void> {
  const messageId = checkMessageId(message.messageId);
  const values = [
    messageId,
    message.tid,
    message.requestId,
    message.kind,
    JSON.stringify(message.audience),
    message.sender.kind,
    message.sender.id,
    message.subject,
    message.msg,
    message.opts,
    message.data,
    message.urgency,
    message.channels,
    message.collapseKey,
    message.experimentId,
    new Date(message.createdAt),
    message.scheduledAt === null ? null : new Date(message.scheduledAt),
    message.expiresAt === null ? null : new Date(message.expiresAt),
    new Date(message.storedAt),
    message.trace === null ? null : JSON.stringify(message.trace),
  ];
  const statements = [
    { query: `INSERT INTO messages_by_id (${messageColumns}) VALUES (${placeholders.join(', ')})`, params: values },
  ];
  if (message.tid !== null) {
    const day = dayOf(messageId);
    statements.push(
      {
        query: `INSERT INTO messages_by_thread (day, ${messageColumns}) VALUES (?, ${placeholders.join(', ')})`,
        params: [day, ...values],
      },
      { query: 'INSERT INTO thread_message_days (tid, day) VALUES (?, ?)', params: [message.tid, day] },
    );
  }
  await batch(client, statements, 'store a message');
}

/**
 * Up to `limit` messages of a thread newer than `after`, oldest first (catch-up after a
 * reconnect). Without `after`: the newest `limit` messages, oldest first.
 */
async function messagesAfter(client: Client, tid: string, after: string | null, limit = 100): Promise<StoredMessage[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new MsgxcError('INVALID_LIMIT', 'limit is an integer from 1 to 1000', { status: 400 });
  }
  const messages: StoredMessage[] = [];
  if (after !== null) {
    const from = dayOf(checkMessageId(after));
    const days = await execute(
      client,
      'SELECT day FROM thread_message_days WHERE tid = ? AND day >= ? ORDER BY day ASC',
      [tid, from],
      'read message days',
      { fetchSize: 5000 },
    );
    for (const row of days.rows) {
      const day = row.get('day') as number;
      const order = day === from ? { ascending: true, after } : { ascending: true };
      messages.push(...(await readDay(client, tid, day, order, limit - messages.length)));
      if (messages.length >= limit) break;
    }
    return messages;
  }
  const days = await execute(client, 'SELECT day FROM thread_message_days WHERE tid = ?', [tid], 'read message days', {
    fetchSize: 100,
  });
  for (const row of days.rows) {
    messages.push(
      ...(await readDay(client, tid, row.get('day') as number, { ascending: false }, limit - messages.length)),
    );
    if (messages.length >= limit) break;
  }
  return messages.reverse();
}

async function setReadMarker(
  client: Client,
  uid: string,
  tid: string,
  messageId: string,
  at = new Date(),
): Promise<void> {
  const id = checkMessageId(messageId);
  await execute(
    client,
    'UPDATE read_markers USING TIMESTAMP ? SET message_id = ?, updated_at = ? WHERE uid = ? AND tid = ?',
    [microsOf(id), id, at, uid, tid],
    'set a read marker',
    idempotent,
  );
}

async function readMarker(client: Client, uid: string, tid: string): Promise<ReadMarker | null> {
  const result = await execute(
    client,
    'SELECT message_id, updated_at FROM read_markers WHERE uid = ? AND tid = ?',
    [uid, tid],
    'read a read marker',
  );
  const row = result.rows[0];
  return row ? { messageId: String(row.get('message_id')), updatedAt: row.get('updated_at') as Date } : null;
}

/** tid -> read marker, for every thread the user has read. */
async function readMarkersOf(client: Client, uid: string): Promise<Record<string, ReadMarker>> {
  const result = await execute(
    client,
    'SELECT tid, message_id, updated_at FROM read_markers WHERE uid = ?',
    [uid],
    'read read markers',
  );
  return Object.fromEntries(
    result.rows.map((row) => [
      row.get('tid') as string,
      { messageId: String(row.get('message_id')), updatedAt: row.get('updated_at') as Date },
    ]),
  );
}

function toMessage(row: Row): StoredMessage {
  const time = (column: string) => date(row, column)?.getTime() ?? null;
  const trace = text(row, 'trace');
  return {
    messageId: String(row.get('message_id')),
    requestId: row.get('request_id') as string,
    kind: row.get('kind') as StoredMessage['kind'],
    tid: text(row, 'tid'),
    audience: JSON.parse(text(row, 'audience') ?? 'null') as StoredMessage['audience'],
    sender: { kind: row.get('sender_kind') as StoredMessage['sender']['kind'], id: row.get('sender_id') as string },
    subject: text(row, 'subject'),
    msg: text(row, 'msg'),
    opts: text(row, 'opts'),
    data: text(row, 'data'),
    urgency: row.get('urgency') as number,
    channels: list(row, 'channels') as StoredMessage['channels'],
    collapseKey: text(row, 'collapse_key'),
    experimentId: text(row, 'experiment_id'),
    createdAt: time('created_at') as number,
    scheduledAt: time('scheduled_at'),
    expiresAt: time('expires_at'),
    storedAt: time('stored_at') as number,
    trace: trace === null ? null : (JSON.parse(trace) as StoredMessage['trace']),
  };
}
