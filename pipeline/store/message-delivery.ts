import type { Client } from 'cassandra-driver';
import { DELIVERY_BUCKETS, recordDeliveries } from './delivery-recording.ts';
import {
  checkMessageId,
  type DeliveryState,
  type DeliverySummary,
  type DeliveryUpdate,
  leadingState,
  type StoredMessage,
} from './message-types.ts';
import { bindTo, bucketOf, type Channel, date, decodeCursor, encodeCursor, execute, type Row, text } from './shared.ts';

export { DELIVERY_BUCKETS };

/** Per-recipient delivery state and the summary counters; part of the message store (recording: delivery-recording.ts). */
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
    recordDeliveries: bound(recordMany),
    deliveryOf: bound(deliveryOf),
    deliveriesPage: bound(deliveriesPage),
    deliverySummary: bound(deliverySummary),
  };
}

async function recordDelivery(ctx: DeliveryContext, update: DeliveryUpdate): Promise<{ first: boolean }> {
  return { first: (await recordDeliveries(ctx.client, [update])) > 0 };
}

/** Records many states in bulk; returns how many were first-time states. */
function recordMany(ctx: DeliveryContext, updates: readonly DeliveryUpdate[], concurrency = 16): Promise<number> {
  return recordDeliveries(ctx.client, updates, concurrency);
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
