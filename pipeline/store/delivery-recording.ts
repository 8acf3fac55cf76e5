import { type Client, types } from 'cassandra-driver';
import { chunk, mapLimit } from '../concurrency/index.ts';
import { checkMessageId, type DeliveryUpdate } from './message-types.ts';
import { batch, bucketOf, type Channel, execute, idempotent, type Statement } from './shared.ts';

/** A message's recipients are spread over this many partitions (see 003_messages.cql). */
export const DELIVERY_BUCKETS = 16;

/** Recipients read by one query (`uid IN …` inside one partition). */
const recipientsPerRead = 100;
/** Recipients written by one unlogged batch: one partition, a few KB, under Cassandra's batch size warning. */
const recipientsPerWrite = 20;

/**
 * Recording delivery states in bulk. A batch of events is grouped by partition (message, bucket): the
 * recipients' current states are read with one query per hundred recipients, what is new is decided in
 * memory, each recipient's new states are one statement (a partition's statements one unlogged batch), and
 * the summary counters get one increment per message, channel and state for the whole batch. A broadcast's
 * thousand events cost a few dozen requests rather than three each.
 *
 * Counters move only when a state is recorded for the first time (read, then write): exact under sequential
 * repeats; two copies of one event recorded at the very same moment, or a crash between the state write and
 * the counters, can make a count drift by one per recipient. `delivery_state` itself is always exact.
 */

/** One recipient's updates in arrival order, and the states it already had (undefined: no row yet). */
export interface RecipientUpdates {
  messageId: string;
  uid: string;
  channel: Channel;
  updates: DeliveryUpdate[];
  known: ReadonlySet<string> | undefined;
}

export interface RecipientWrite {
  messageId: string;
  uid: string;
  channel: Channel;
  /** The states recorded for the first time, with when each happened. */
  states: Record<string, Date>;
  /** The last of the new updates' time, and the last value each of them gave (undefined leaves a column as it is). */
  at: Date;
  deviceId: string | undefined;
  variant: string | undefined;
  errorCode: string | undefined;
  error: string | undefined;
}

export interface RecordingPlan {
  writes: RecipientWrite[];
  /** Increments by message, channel and state (`*`: recipients recorded for the first time). */
  counts: Map<string, { messageId: string; channel: Channel; state: string; by: number }>;
  /** States recorded for the first time. */
  firsts: number;
}

/** What to write: pure, so the rules (first time only, arrival order, one count per new state) are testable alone. */
export function planRecording(recipients: readonly RecipientUpdates[]): RecordingPlan {
  const plan: RecordingPlan = { writes: [], counts: new Map(), firsts: 0 };
  const count = (messageId: string, channel: Channel, state: string) => {
    const key = `${messageId}\n${channel}\n${state}`;
    const entry = plan.counts.get(key);
    if (entry) entry.by += 1;
    else plan.counts.set(key, { messageId, channel, state, by: 1 });
  };
  for (const recipient of recipients) {
    const seen = new Set(recipient.known ?? []);
    let write: RecipientWrite | undefined;
    for (const update of recipient.updates) {
      if (seen.has(update.state)) continue;
      seen.add(update.state);
      const at = update.at instanceof Date ? update.at : new Date(update.at);
      write ??= {
        messageId: recipient.messageId,
        uid: recipient.uid,
        channel: recipient.channel,
        states: {},
        at,
        deviceId: undefined,
        variant: undefined,
        errorCode: undefined,
        error: undefined,
      };
      write.states[update.state] = at;
      write.at = at;
      // A later event without a variant must not erase the variant an earlier one recorded.
      write.deviceId = update.deviceId ?? write.deviceId;
      write.variant = update.variant ?? write.variant;
      write.errorCode = update.errorCode ?? write.errorCode;
      write.error = update.error ?? write.error;
      count(recipient.messageId, recipient.channel, update.state);
      plan.firsts += 1;
    }
    if (write) {
      plan.writes.push(write);
      if (recipient.known === undefined) count(recipient.messageId, recipient.channel, '*');
    }
  }
  return plan;
}

/** Records many states; returns how many were first-time states. */
export async function recordDeliveries(
  client: Client,
  updates: readonly DeliveryUpdate[],
  concurrency = 16,
): Promise<number> {
  const partitions = new Map<
    string,
    { messageId: string; bucket: number; recipients: Map<string, RecipientUpdates> }
  >();
  for (const update of updates) {
    const messageId = checkMessageId(update.messageId);
    const bucket = bucketOf(update.uid, DELIVERY_BUCKETS);
    const partitionKey = `${messageId}\n${bucket}`;
    let partition = partitions.get(partitionKey);
    if (!partition) {
      partition = { messageId, bucket, recipients: new Map() };
      partitions.set(partitionKey, partition);
    }
    const recipientKey = `${update.uid}\n${update.channel}`;
    const recipient = partition.recipients.get(recipientKey);
    if (recipient) recipient.updates.push(update);
    else {
      partition.recipients.set(recipientKey, {
        messageId,
        uid: update.uid,
        channel: update.channel,
        updates: [update],
        known: undefined,
      });
    }
  }
  const slices = [...partitions.values()].flatMap(({ messageId, bucket, recipients }) =>
    chunk([...recipients.values()], recipientsPerRead).map((slice) => ({ messageId, bucket, recipients: slice })),
  );
  const plans = await mapLimit(slices, concurrency, async ({ messageId, bucket, recipients }) => {
    const uids = [...new Set(recipients.map((recipient) => recipient.uid))];
    const result = await execute(
      client,
      'SELECT uid, channel, states FROM delivery_state WHERE message_id = ? AND bucket = ? AND uid IN ?',
      [messageId, bucket, uids],
      'read delivery states',
    );
    const known = new Map<string, Set<string>>();
    for (const row of result.rows) {
      const states = (row.get('states') as Record<string, Date> | null) ?? {};
      known.set(`${row.get('uid') as string}\n${row.get('channel') as string}`, new Set(Object.keys(states)));
    }
    const plan = planRecording(
      recipients.map((recipient) => ({ ...recipient, known: known.get(`${recipient.uid}\n${recipient.channel}`) })),
    );
    for (const writes of chunk(plan.writes, recipientsPerWrite)) {
      const statements = writes.map((write) => stateStatement(write, bucket));
      if (statements.length === 1) {
        const [only] = statements as [Statement];
        await execute(client, only.query, only.params, 'record a delivery state', idempotent);
      } else {
        await batch(client, statements, 'record delivery states', { unlogged: true });
      }
    }
    return plan;
  });
  // The counters after every state they count is written, one counter batch per message.
  const byMessage = new Map<string, Statement[]>();
  for (const plan of plans) {
    for (const { messageId, channel, state, by } of plan.counts.values()) {
      const statement = {
        query:
          'UPDATE delivery_summary SET recipients = recipients + ? WHERE message_id = ? AND channel = ? AND state = ?',
        params: [types.Long.fromNumber(by), messageId, channel, state],
      };
      const statements = byMessage.get(messageId);
      if (statements) statements.push(statement);
      else byMessage.set(messageId, [statement]);
    }
  }
  await mapLimit([...byMessage.values()], concurrency, (statements) =>
    batch(client, statements, 'count delivery states', { counter: true }),
  );
  return plans.reduce((sum, plan) => sum + plan.firsts, 0);
}

function stateStatement(write: RecipientWrite, bucket: number): Statement {
  return {
    // undefined leaves a column as it is (the client sets useUndefinedAsUnset).
    query:
      'UPDATE delivery_state SET states = states + ?, updated_at = ?, device_id = ?, variant = ?, error_code = ?, error = ? ' +
      'WHERE message_id = ? AND bucket = ? AND uid = ? AND channel = ?',
    params: [
      write.states,
      write.at,
      write.deviceId,
      write.variant,
      write.errorCode,
      write.error,
      write.messageId,
      bucket,
      write.uid,
      write.channel,
    ],
  };
}
