import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import type { InputRecord } from '../../pipeline/runtime/types.ts';
import type { DeliveryState, DeliveryUpdate, StoredMessage } from '../../pipeline/store/message-types.ts';
import type { CheckInLike } from '../../pipeline/store/session.ts';
import type { Acknowledgement, CheckIn, DeliveryEvent } from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';
import { type AckDependencies, handleAcks } from './handler.ts';

/** In-memory stand-ins with the stores' contracts (a state is recorded once; markers only move forward). */
function memoryStores() {
  const states = new Map<string, DeliveryState>();
  const markers = new Map<string, string>();
  const checkIns: CheckInLike[] = [];
  const messages = new Map<string, Pick<StoredMessage, 'tid' | 'requestId' | 'urgency' | 'experimentId'>>();
  const record = (update: DeliveryUpdate) => {
    const key = `${update.messageId}|${update.uid}|${update.channel}`;
    const state = states.get(key) ?? {
      messageId: update.messageId,
      uid: update.uid,
      channel: update.channel,
      state: update.state,
      states: {},
      errorCode: null,
      error: null,
      deviceId: null,
      variant: null,
      updatedAt: null,
    };
    if (update.state in state.states) return { first: false as const };
    state.states[update.state] = new Date(update.at);
    state.variant = update.variant ?? state.variant;
    state.deviceId = update.deviceId ?? state.deviceId;
    states.set(key, state);
    return { first: true as const };
  };
  const deps: AckDependencies = {
    messages: {
      async recordDelivery(update: DeliveryUpdate) {
        return record(update);
      },
      async recordDeliveries(updates: readonly DeliveryUpdate[]) {
        return updates.filter((update) => record(update).first).length;
      },
      async deliveryOf(messageId: string, uid: string) {
        return [...states.values()].filter((state) => state.messageId === messageId && state.uid === uid);
      },
      async getMessage(messageId: string) {
        const facts = messages.get(messageId);
        return facts ? ({ messageId, ...facts } as StoredMessage) : null;
      },
      async setReadMarker(uid: string, tid: string, messageId: string) {
        const key = `${uid}|${tid}`;
        const current = markers.get(key);
        if (
          !current ||
          types.TimeUuid.fromString(current).getDate() <= types.TimeUuid.fromString(messageId).getDate()
        ) {
          markers.set(key, messageId);
        }
      },
    },
    sessions: {
      async recordCheckIn(checkIn: CheckInLike) {
        checkIns.push(checkIn);
      },
    },
  };
  return { deps, states, markers, checkIns, messages };
}

const record = <T>(topic: string, value: T): InputRecord<T> => ({
  topic,
  partition: 0,
  offset: '0',
  key: null,
  value,
  headers: {},
  timestamp: 0,
});

const messageId = types.TimeUuid.now().toString();

function ack(parts: Partial<Acknowledgement>): Acknowledgement {
  return {
    ackId: 'a-1',
    type: 'delivered',
    messageId,
    uid: 'ann',
    tid: null,
    channel: 'ws',
    deliveryId: null,
    deviceId: null,
    sessionId: null,
    action: null,
    at: 1_000,
    receivedAt: 1_001,
    source: 'ws',
    trace: null,
    ...parts,
  };
}

function sentEvent(parts: Partial<DeliveryEvent> = {}): DeliveryEvent {
  return buildDeliveryEvent({
    eventId: 'e-1',
    type: 'sent',
    at: 900,
    messageId,
    requestId: null,
    deliveryId: `${messageId}:ann:ws`,
    uid: 'ann',
    tid: 't-1',
    channel: 'ws',
    deviceId: null,
    urgency: 3,
    experimentId: 'exp',
    variant: 'b',
    reason: null,
    detail: null,
    providerMessageId: null,
    attempt: 0,
    source: 'gateway',
    trace: null,
    ...parts,
  });
}

describe('ack handler', () => {
  it('turns acknowledgements into events and delivery state, with the variant and experiment known for the delivery', async () => {
    const stores = memoryStores();
    stores.messages.set(messageId, { tid: 't-1', requestId: 'r-1', urgency: 3, experimentId: 'exp' });
    await handleAcks([record('events', sentEvent())], stores.deps);
    const outputs = await handleAcks(
      [record('acks', ack({})), record('acks', ack({ ackId: 'a-2', type: 'opened', at: 2_000 }))],
      stores.deps,
    );
    const events = outputs.map((output) => output.value as DeliveryEvent);
    expect(outputs.every((output) => output.topic === 'events' && output.key === messageId)).toBe(true);
    expect(
      events.map((event) => [
        event.eventId,
        event.type,
        event.deliveryId,
        event.variant,
        event.experimentId,
        event.tid,
      ]),
    ).toEqual([
      ['ack:a-1', 'delivered', `${messageId}:ann:ws`, 'b', 'exp', 't-1'],
      ['ack:a-2', 'opened', `${messageId}:ann:ws`, 'b', 'exp', 't-1'],
    ]);
    const state = stores.states.get(`${messageId}|ann|ws`);
    expect(Object.keys(state?.states ?? {}).sort()).toEqual(['delivered', 'opened', 'sent']);
  });

  it('records a repeated ack once and repeats its event id', async () => {
    const stores = memoryStores();
    const first = await handleAcks([record('acks', ack({}))], stores.deps);
    const again = await handleAcks([record('acks', ack({ at: 5_000 }))], stores.deps);
    const eventId = (outputs: typeof first) => (outputs[0]?.value as DeliveryEvent | undefined)?.eventId;
    expect(eventId(again)).toBe(eventId(first));
    expect(stores.states.get(`${messageId}|ann|ws`)?.states.delivered).toEqual(new Date(1_000));
  });

  it('finds the channel of an ack that does not name one from the delivery state', async () => {
    const stores = memoryStores();
    await handleAcks(
      [record('events', sentEvent({ channel: 'fcm', deviceId: 'dev-1', deliveryId: `${messageId}:ann:dev-1` }))],
      stores.deps,
    );
    const outputs = await handleAcks(
      [record('acks', ack({ channel: null, deviceId: 'dev-1', type: 'clicked', action: '/x' }))],
      stores.deps,
    );
    const event = outputs[0]?.value as DeliveryEvent;
    expect([event.channel, event.deliveryId, event.detail]).toEqual(['fcm', `${messageId}:ann:dev-1`, '/x']);
    expect(Object.keys(stores.states.get(`${messageId}|ann|fcm`)?.states ?? {}).sort()).toEqual(['clicked', 'sent']);
  });

  it('moves the read marker for read acks and records a read event', async () => {
    const stores = memoryStores();
    const outputs = await handleAcks([record('acks', ack({ type: 'read', tid: 't-1', channel: null }))], stores.deps);
    expect(stores.markers.get('ann|t-1')).toBe(messageId);
    expect((outputs[0]?.value as DeliveryEvent | undefined)?.type).toBe('read');
  });

  it('skips acks that do not name a message, without failing the batch', async () => {
    const stores = memoryStores();
    const outputs = await handleAcks(
      [record('acks', ack({ messageId: 'not-a-message' })), record('acks', ack({ ackId: 'ok' }))],
      stores.deps,
    );
    expect(outputs.map((output) => (output.value as DeliveryEvent).eventId)).toEqual(['ack:ok']);
  });

  it('passes check-ins to the session store in order per user', async () => {
    const stores = memoryStores();
    const checkIn = (type: CheckIn['type'], at: number): CheckIn => ({
      type,
      sessionId: 's-1',
      uid: 'ann',
      at,
      connectedAt: 100,
      deviceId: null,
      gatewayId: 'g-1',
      reason: type === 'disconnect' ? 'client closed' : null,
      userAgent: null,
    });
    const outputs = await handleAcks(
      [
        record('checkins', checkIn('connect', 100)),
        record('checkins', checkIn('heartbeat', 200)),
        record('checkins', checkIn('disconnect', 300)),
      ],
      stores.deps,
    );
    expect(outputs).toEqual([]);
    expect(stores.checkIns.map((item) => item.type)).toEqual(['connect', 'heartbeat', 'disconnect']);
  });

  it('ignores its own events and per-batch events when recording delivery state from the events topic', async () => {
    const stores = memoryStores();
    await handleAcks(
      [
        record('events', sentEvent({ source: 'ack', type: 'delivered' })),
        record('events', sentEvent({ type: 'queued', uid: null, deliveryId: null })),
        record('events', sentEvent({ type: 'failed', reason: 'TOKEN_INVALID', detail: 'gone', channel: 'apns' })),
      ],
      stores.deps,
    );
    expect([...stores.states.keys()]).toEqual([`${messageId}|ann|apns`]);
  });

  it('records provider feedback from the facade (undelivered, bounced, complained) as delivery states with their reason', async () => {
    const stores = memoryStores();
    await handleAcks(
      [
        record('events', sentEvent({ type: 'undelivered', channel: 'sms', uid: 'ann', reason: 'CARRIER_UNDELIVERED' })),
        record('events', sentEvent({ type: 'bounced', channel: 'email', uid: 'ann', reason: 'HARD_BOUNCE' })),
        record('events', sentEvent({ type: 'complained', channel: 'email', uid: 'bob', reason: 'COMPLAINT' })),
      ],
      stores.deps,
    );
    expect(Object.keys(stores.states.get(`${messageId}|ann|sms`)!.states)).toEqual(['undelivered']);
    expect(Object.keys(stores.states.get(`${messageId}|ann|email`)!.states)).toEqual(['bounced']);
    expect(Object.keys(stores.states.get(`${messageId}|bob|email`)!.states)).toEqual(['complained']);
  });
});
