import type { Logger } from '../../pipeline/log/index.ts';
import { deliveryIdOf } from '../../pipeline/records/delivery.ts';
import type { InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';
import type { MessageStore } from '../../pipeline/store/message.ts';
import type { DeliveryState, DeliveryUpdate } from '../../pipeline/store/message-types.ts';
import type { CheckInLike } from '../../pipeline/store/session.ts';
import type { Acknowledgement, Channel, CheckIn, DeliveryEvent } from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';

/**
 * The ack stage's handler over three inputs:
 * - `acks`: a receipt or engagement becomes a DeliveryEvent and the recipient's delivery state
 *   (idempotent: a state is recorded once, the event id derives from the ack id); a `read` ack moves
 *   the user's read marker for the thread (forward only);
 * - `checkins`: connect / heartbeat / disconnect become online sessions (uid, start, end, duration);
 * - `events`: per-recipient outcomes other stages recorded (sent, delivered, failed, expired…) update
 *   the delivery state, so a message's status and the escalation check see them.
 * Records a client could have malformed (an ack for something that is not a message id) are skipped
 * and logged rather than failed: failing would send the whole batch through retries and bisection.
 */

export interface AckDependencies {
  messages: Pick<MessageStore, 'recordDelivery' | 'recordDeliveries' | 'deliveryOf' | 'getMessage' | 'setReadMarker'>;
  sessions: { recordCheckIn(checkIn: CheckInLike): Promise<void> };
  log?: Logger;
  /** Records of different users are worked on concurrently, up to this many at once. */
  concurrency?: number;
}

type AckInput = InputRecord<Acknowledgement | CheckIn | DeliveryEvent>;

const messageIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** Per-recipient event types the delivery state keeps (queued and escalated are per batch). */
const recordedEventTypes = new Set([
  'sent',
  'delivered',
  'failed',
  'expired',
  'dropped',
  'opened',
  'clicked',
  'dismissed',
  // Provider outcomes of the delivery stages (a throttle or transient failure is followed by a later outcome).
  'rejected',
  'skipped',
  // Provider feedback the facade records (Twilio status callbacks, SES bounces and complaints through SNS).
  'undelivered',
  'bounced',
  'complained',
]);

export async function handleAcks(batch: AckInput[], deps: AckDependencies): Promise<OutputRecord[]> {
  // Other stages' events are recorded in bulk (a broadcast's thousand `sent` cost a few dozen requests), in
  // arrival order per recipient. Acks and check-ins need a lookup or a session each.
  const updates = batch.flatMap((record) =>
    record.topic === 'events' ? (eventUpdate(record.value as DeliveryEvent) ?? []) : [],
  );
  const [outputs] = await Promise.all([
    handleEach(
      batch.filter((record) => record.topic !== 'events'),
      deps,
    ),
    updates.length > 0 ? deps.messages.recordDeliveries(updates) : undefined,
  ]);
  return outputs;
}

async function handleEach(batch: AckInput[], deps: AckDependencies): Promise<OutputRecord[]> {
  // One user's records stay in order (a delivered before its opened); different users run concurrently.
  const groups = new Map<string, { index: number; record: AckInput }[]>();
  batch.forEach((record, index) => {
    const key = groupKey(record);
    const group = groups.get(key);
    if (group) group.push({ index, record });
    else groups.set(key, [{ index, record }]);
  });
  const context: CallContext = { deps, messages: new Map() };
  const outputs: (OutputRecord[] | undefined)[] = new Array(batch.length);
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      for (const { index, record } of group) outputs[index] = await handleOne(record, context);
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? 16, queue.length) }, worker));
  return outputs.flatMap((output) => output ?? []);
}

function groupKey(record: AckInput): string {
  const value = record.value as { uid?: string | null };
  return `${record.topic}\0${value.uid ?? ''}`;
}

/** One handler call: the dependencies and the messages looked up so far (many acks name the same message). */
interface CallContext {
  deps: AckDependencies;
  messages: Map<string, Promise<MessageFacts>>;
}

interface MessageFacts {
  tid: string | null;
  requestId: string | null;
  urgency: number | null;
  experimentId: string | null;
}

function messageFacts(context: CallContext, messageId: string): Promise<MessageFacts> {
  let facts = context.messages.get(messageId);
  if (!facts) {
    facts = context.deps.messages.getMessage(messageId).then((message) => ({
      tid: message?.tid ?? null,
      requestId: message?.requestId ?? null,
      urgency: message?.urgency ?? null,
      experimentId: message?.experimentId ?? null,
    }));
    context.messages.set(messageId, facts);
    // A failed lookup is not remembered: the runtime retries the call.
    facts.catch(() => context.messages.delete(messageId));
  }
  return facts;
}

async function handleOne(record: AckInput, context: CallContext): Promise<OutputRecord[]> {
  const { deps } = context;
  switch (record.topic) {
    case 'acks':
      return handleAck(record.value as Acknowledgement, context);
    case 'checkins':
      await deps.sessions.recordCheckIn(record.value as CheckIn);
      return [];
    default:
      deps.log?.warn({ topic: record.topic }, 'record from a topic the ack stage does not read; skipped');
      return [];
  }
}

async function handleAck(ack: Acknowledgement, context: CallContext): Promise<OutputRecord[]> {
  const { deps } = context;
  if (!messageIdPattern.test(ack.messageId)) {
    deps.log?.warn(
      { ackId: ack.ackId, source: ack.source },
      'acknowledgement of something that is not a message id; skipped',
    );
    return [];
  }
  if (ack.type === 'read') {
    if (ack.tid === null) {
      deps.log?.warn({ ackId: ack.ackId }, 'read acknowledgement without a thread; skipped');
      return [];
    }
    await deps.messages.setReadMarker(ack.uid, ack.tid, ack.messageId, new Date(ack.at));
    return [eventRecord(ack, null, null, await messageFacts(context, ack.messageId))];
  }
  // The delivery this ack is about: its channel (when the client did not say) and the recipient's variant.
  const [states, facts] = await Promise.all([
    deps.messages.deliveryOf(ack.messageId, ack.uid),
    messageFacts(context, ack.messageId),
  ]);
  const state =
    states.find((candidate) => candidate.channel === ack.channel) ??
    (ack.channel === null ? (states.find((candidate) => candidate.deviceId === ack.deviceId) ?? states[0]) : undefined);
  const channel = ack.channel ?? state?.channel ?? null;
  if (channel !== null) {
    await deps.messages.recordDelivery({
      messageId: ack.messageId,
      uid: ack.uid,
      channel,
      state: ack.type,
      at: ack.at,
      deviceId: ack.deviceId,
      variant: state?.variant ?? null,
    });
  }
  return [eventRecord(ack, channel, state ?? null, facts)];
}

/** The delivery state an event records, or null for an event that records none. */
function eventUpdate(event: DeliveryEvent): DeliveryUpdate | null {
  // The ack stage's own events were recorded when it made them; per-batch events name no recipient.
  if (event.source === 'ack' || !recordedEventTypes.has(event.type)) return null;
  if (event.messageId === null || event.uid === null || event.channel === null) return null;
  if (!messageIdPattern.test(event.messageId)) return null;
  return {
    messageId: event.messageId,
    uid: event.uid,
    channel: event.channel,
    state: event.type,
    at: event.at,
    deviceId: event.deviceId,
    variant: event.variant,
    errorCode: ['failed', 'dropped', 'expired', 'rejected', 'skipped', 'undelivered', 'bounced', 'complained'].includes(
      event.type,
    )
      ? event.reason
      : null,
    error: event.type === 'failed' || event.type === 'rejected' ? event.detail : null,
  };
}

function eventRecord(
  ack: Acknowledgement,
  channel: Channel | null,
  state: DeliveryState | null,
  facts: MessageFacts,
): OutputRecord {
  const deliveryId =
    ack.deliveryId ??
    (channel === 'ws'
      ? deliveryIdOf(ack.messageId, ack.uid, null)
      : ack.deviceId
        ? deliveryIdOf(ack.messageId, ack.uid, ack.deviceId)
        : null);
  const event: DeliveryEvent = buildDeliveryEvent({
    eventId: `ack:${ack.ackId}`,
    type: ack.type,
    at: ack.at,
    messageId: ack.messageId,
    requestId: facts.requestId,
    deliveryId,
    uid: ack.uid,
    tid: ack.tid ?? facts.tid,
    channel,
    deviceId: ack.deviceId ?? state?.deviceId ?? null,
    urgency: facts.urgency,
    experimentId: facts.experimentId,
    variant: state?.variant ?? null,
    reason: null,
    detail: ack.action,
    providerMessageId: null,
    attempt: null,
    source: 'ack',
    trace: ack.trace,
  });
  return { topic: 'events', key: ack.messageId, value: event };
}
