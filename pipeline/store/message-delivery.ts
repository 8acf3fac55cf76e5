import type { Client } from 'cassandra-driver';
import { mapLimit } from '../concurrency/index.ts';
import {
  checkMessageId,
  type DeliveryState,
  type DeliverySummary,
  type DeliveryUpdate,
  leadingState,
  type StoredMessage,
} from './message-types.ts';
import {
  batch,
  bindTo,
  bucketOf,
  type Channel,
  date,
  decodeCursor,
  encodeCursor,
  execute,
  idempotent,
  type Row,
  text,
} from './shared.ts';

/** A message's recipients are spread over this many partitions (see 003_messages.cql). */
export const DELIVERY_BUCKETS = 16;

/**
 * Per-recipient delivery state and the summary counters; part of the message store. Counters move
 * only when a state is recorded for the first time (read, then write): exact under sequential
 * repeats; two copies of one event recorded at the very same moment, or a crash between the state
 * write and the counter, can make a count drift by one. `delivery_state` itself is always exact.
 */
interface DeliveryContext {
  client: Client;
  getMessage: (messageId: string) => Promise<StoredMessage | null>;
}

export function createDeliveryMethods(
  client: Client,
  getMessage: (messageId: string) => Promise<StoredMessage | null>,
) {
  const ctx: DeliveryContext = { client, getMessage };
  const bound = bindTo(ctx);
  return {
    recordDelivery: bound(recordDelivery),
    recordDeliveries: bound(recordDeliveries),
    deliveryOf: bound(deliveryOf),
    deliveriesPage: bound(deliveriesPage),
    deliverySummary: bound(deliverySummary),
  };
}
async function readState(
  ctx: DeliveryContext,
  messageId: string,
  uid: string,
  channel: Channel,
): Promise<Row | undefined> {
  const result = await execute(
    ctx.client,
    'SELECT states FROM delivery_state WHERE message_id = ? AND bucket = ? AND uid = ? AND channel = ?',
    [messageId, bucketOf(uid, DELIVERY_BUCKETS), uid, channel],
    'read a delivery state',
  );
  return result.rows[0];
}

async function recordDelivery(ctx: DeliveryContext, update: DeliveryUpdate): Promise<{ first: boolean }> {
  const messageId = checkMessageId(update.messageId);
  const existing = await readState(ctx, messageId, update.uid, update.channel);
  const states = (existing?.get('states') as Record<string, Date> | null) ?? {};
  if (update.state in states) return { first: false };
  const at = update.at instanceof Date ? update.at : new Date(update.at);
  // undefined leaves a column as it is (the client sets useUndefinedAsUnset): a later event without a
  // variant must not erase the variant an earlier one recorded.
  await execute(
    ctx.client,
    'UPDATE delivery_state SET states[?] = ?, updated_at = ?, device_id = ?, variant = ?, error_code = ?, error = ? ' +
      'WHERE message_id = ? AND bucket = ? AND uid = ? AND channel = ?',
    [
      update.state,
      at,
      at,
      update.deviceId ?? undefined,
      update.variant ?? undefined,
      update.errorCode ?? undefined,
      update.error ?? undefined,
      messageId,
      bucketOf(update.uid, DELIVERY_BUCKETS),
      update.uid,
      update.channel,
    ],
    'record a delivery state',
    idempotent,
  );
  const count =
    'UPDATE delivery_summary SET recipients = recipients + 1 WHERE message_id = ? AND channel = ? AND state = ?';
  const counters = [{ query: count, params: [messageId, update.channel, update.state] }];
  if (existing === undefined) counters.push({ query: count, params: [messageId, update.channel, '*'] });
  await batch(ctx.client, counters, 'count a delivery state', { counter: true });
  return { first: true };
}

/** Records many states with bounded concurrency; returns how many were first-time states. */
async function recordDeliveries(
  ctx: DeliveryContext,
  updates: readonly DeliveryUpdate[],
  concurrency = 16,
): Promise<number> {
  // One recipient's updates run in order, one at a time: run concurrently, two of them would both
  // read "no state yet" and count the recipient twice. Different recipients run in parallel.
  const byRecipient = new Map<string, DeliveryUpdate[]>();
  for (const update of updates) {
    const key = `${update.messageId}\n${update.uid}\n${update.channel}`;
    const group = byRecipient.get(key);
    if (group) group.push(update);
    else byRecipient.set(key, [update]);
  }
  const firsts = await mapLimit([...byRecipient.values()], concurrency, async (group) => {
    let count = 0;
    for (const update of group) if ((await recordDelivery(ctx, update)).first) count += 1;
    return count;
  });
  return firsts.reduce((sum, count) => sum + count, 0);
}

/** One recipient's delivery state per channel. */
async function deliveryOf(ctx: DeliveryContext, messageId: string, uid: string): Promise<DeliveryState[]> {
  const result = await execute(
    ctx.client,
    'SELECT message_id, uid, channel, states, error_code, error, device_id, variant, updated_at ' +
      'FROM delivery_state WHERE message_id = ? AND bucket = ? AND uid = ?',
    [checkMessageId(messageId), bucketOf(uid, DELIVERY_BUCKETS), uid],
    'read a delivery state',
  );
  return result.rows.map(toDeliveryState);
}

/** Every recipient's state, a page at a time (reports, tests); `next` is null after the last page. */
async function deliveriesPage(ctx: DeliveryContext, messageId: string, cursor: string | null, pageSize = 500) {
  let { bucket, pageState } = decodeCursor(cursor, DELIVERY_BUCKETS);
  const deliveries: DeliveryState[] = [];
  while (bucket < DELIVERY_BUCKETS && deliveries.length < pageSize) {
    const result = await execute(
      ctx.client,
      'SELECT message_id, uid, channel, states, error_code, error, device_id, variant, updated_at ' +
        'FROM delivery_state WHERE message_id = ? AND bucket = ?',
      [checkMessageId(messageId), bucket],
      'page delivery states',
      { fetchSize: pageSize - deliveries.length, ...(pageState ? { pageState } : {}) },
    );
    deliveries.push(...result.rows.map(toDeliveryState));
    if (result.pageState) {
      pageState = result.pageState;
    } else {
      bucket += 1;
      pageState = undefined;
    }
  }
  return { deliveries, next: bucket < DELIVERY_BUCKETS ? encodeCursor(bucket, pageState ?? null) : null };
}

/** Recipients per channel and state; null when the message is unknown and nothing was recorded. */
async function deliverySummary(ctx: DeliveryContext, messageId: string): Promise<DeliverySummary | null> {
  const id = checkMessageId(messageId);
  const [message, counts] = await Promise.all([
    ctx.getMessage(id),
    execute(
      ctx.client,
      'SELECT channel, state, recipients FROM delivery_summary WHERE message_id = ?',
      [id],
      'read a delivery summary',
    ),
  ]);
  if (message === null && counts.rowLength === 0) return null;
  const summary: DeliverySummary = {
    messageId: id,
    tid: message?.tid ?? null,
    sender: message?.sender.id ?? null,
    createdAt: message?.createdAt ?? null,
    states: {},
    channels: {},
    recipients: 0,
  };
  for (const row of counts.rows) {
    const channel = row.get('channel') as string;
    const state = row.get('state') as string;
    const recipients = Number(row.get('recipients'));
    if (state === '*') {
      summary.recipients += recipients;
      continue;
    }
    summary.states[state] = (summary.states[state] ?? 0) + recipients;
    summary.channels[channel] = { ...summary.channels[channel], [state]: recipients };
  }
  return summary;
}

function toDeliveryState(row: Row): DeliveryState {
  const states = (row.get('states') as Record<string, Date> | null) ?? {};
  return {
    messageId: String(row.get('message_id')),
    uid: row.get('uid') as string,
    channel: row.get('channel') as Channel,
    state: leadingState(states),
    states,
    errorCode: text(row, 'error_code'),
    error: text(row, 'error'),
    deviceId: text(row, 'device_id'),
    variant: text(row, 'variant'),
    updatedAt: date(row, 'updated_at'),
  };
}
