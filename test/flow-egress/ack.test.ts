import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createKafka } from '../../pipeline/kafka/index.ts';
import { createEscalationStore } from '../../pipeline/store/escalations.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { createSessionStore } from '../../pipeline/store/session.ts';
import type { Acknowledgement, CheckIn, DeliveryBatch, DeliveryEvent } from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';
import { sweepEscalations } from '../../stages/ack/escalations.ts';
import { acknowledgedBy, stage as ackStage } from '../../stages/ack/index.ts';
import { ackRecordedUntil } from '../../stages/ack/recorded-until.ts';
import { stage as fanoutStage } from '../../stages/fanout/index.ts';
import { audience, createWorld, device, fanoutJob, newMessageId, readTopic, type World } from './support.ts';

/**
 * The ack stage on the real stack: acknowledgements become events and delivery state, check-ins become
 * sessions, and an urgent message nobody acknowledged escalates to its fallback channel. The sweep's
 * timer is parked (an hour) and the sweep is called with a clock past the deadline, so the test does
 * not depend on how fast this machine is.
 */

let world: World;
let cassandra: ReturnType<typeof createCassandra>;
let messages: ReturnType<typeof createMessageStore>;

beforeAll(async () => {
  world = await createWorld({ MSGXC_ESCALATION_SWEEP_MS: '3600000' });
  cassandra = createCassandra(world.config);
  messages = createMessageStore(cassandra);
  await world.run([ackStage, fanoutStage]);
});

afterAll(async () => {
  await cassandra?.shutdown();
  await world?.drop();
});

const ack = (
  parts: Partial<Acknowledgement> & Pick<Acknowledgement, 'ackId' | 'messageId' | 'uid'>,
): Acknowledgement => ({
  type: 'delivered',
  tid: null,
  channel: 'ws',
  deliveryId: null,
  deviceId: null,
  sessionId: null,
  action: null,
  at: Date.now(),
  receivedAt: Date.now(),
  source: 'test',
  trace: null,
  ...parts,
});

describe('ack stage on the real stack', () => {
  it('records acknowledgements as events and delivery state, idempotently, with the variant of the delivery', async () => {
    const messageId = newMessageId();
    const sent: DeliveryEvent = buildDeliveryEvent({
      eventId: `${messageId}:ann:ws:sent:0`,
      type: 'sent',
      at: Date.now(),
      messageId,
      requestId: null,
      deliveryId: `${messageId}:ann:ws`,
      uid: 'ann',
      tid: null,
      channel: 'ws',
      deviceId: null,
      urgency: 3,
      experimentId: 'exp-1',
      variant: 'b',
      reason: null,
      detail: null,
      providerMessageId: null,
      attempt: 0,
      source: 'gateway',
      trace: null,
    });
    await world.emitter.emit([{ topic: 'events', key: messageId, value: sent }]);
    await world.drained('ack', ['events']);
    const acks = [
      ack({ ackId: 'a1', messageId, uid: 'ann' }),
      ack({ ackId: 'a1', messageId, uid: 'ann' }),
      ack({ ackId: 'a2', messageId, uid: 'ann', type: 'clicked', action: '/offer' }),
    ];
    await world.emitter.emit(acks.map((value) => ({ topic: 'acks', key: messageId, value })));
    await world.drained('ack', ['acks', 'events']);

    const [state] = await messages.deliveryOf(messageId, 'ann');
    expect(state?.channel).toBe('ws');
    expect(Object.keys(state?.states ?? {}).sort()).toEqual(['clicked', 'delivered', 'sent']);
    expect(state?.variant).toBe('b');
    const summary = await messages.deliverySummary(messageId);
    expect(summary?.channels.ws).toMatchObject({ sent: 1, delivered: 1, clicked: 1 });

    const events = (await readTopic<DeliveryEvent>(world.config, 'events'))
      .map((record) => record.value)
      .filter((event) => event.messageId === messageId && event.source === 'ack');
    expect(new Set(events.map((event) => event.eventId))).toEqual(new Set(['ack:a1', 'ack:a2']));
    expect(events.every((event) => event.variant === 'b' && event.deliveryId === `${messageId}:ann:ws`)).toBe(true);
  });

  it('moves the read marker for a read acknowledgement', async () => {
    const [older, newer] = [newMessageId(), newMessageId()];
    await world.emitter.emit([
      {
        topic: 'acks',
        key: newer,
        value: ack({ ackId: 'r2', messageId: newer, uid: 'bob', type: 'read', tid: 't-1', channel: null }),
      },
      {
        topic: 'acks',
        key: older,
        value: ack({ ackId: 'r1', messageId: older, uid: 'bob', type: 'read', tid: 't-1', channel: null }),
      },
    ]);
    await world.drained('ack', ['acks']);
    expect((await messages.readMarker('bob', 't-1'))?.messageId).toBe(newer);
  });

  it('turns check-ins into an online session with start, end and duration', async () => {
    const start = Date.now() - 60_000;
    const checkIn = (type: CheckIn['type'], at: number): CheckIn => ({
      type,
      sessionId: 'session-1',
      uid: 'cat',
      at,
      connectedAt: start,
      deviceId: null,
      gatewayId: 'gw-1',
      reason: type === 'disconnect' ? '1000 bye' : null,
      userAgent: 'test',
    });
    await world.emitter.emit(
      [checkIn('connect', start), checkIn('heartbeat', start + 30_000), checkIn('disconnect', start + 45_000)].map(
        (value) => ({
          topic: 'checkins',
          key: 'session-1',
          value,
        }),
      ),
    );
    await world.drained('ack', ['checkins']);
    const sessions = await createSessionStore(cassandra).sessionsOf('cat');
    expect(
      sessions.map((session) => [
        session.sessionId,
        session.startedAt.getTime(),
        session.endedAt?.getTime(),
        session.durationMs,
        session.endReason,
      ]),
    ).toEqual([['session-1', start, start + 45_000, 45_000, '1000 bye']]);
  });

  it('escalates an unacknowledged urgent message to the fallback channel, and not an acknowledged one', async () => {
    await world.users([
      { uid: 'xena', devices: { ws: true, apns: [device.apns('x1')] } },
      { uid: 'yuri', devices: { apns: [device.apns('y1')], sms: [device.sms('y2')] } },
    ]);
    const job = fanoutJob({
      audience: audience.uids(['xena', 'yuri']),
      urgency: 4,
      plan: 'fallback',
      channels: ['ws', 'apns', 'sms'],
      fallbackChannels: ['apns', 'sms'],
      escalateAfterMs: 1_000,
    });
    await world.emitter.emit([{ topic: 'fanout', key: job.messageId, value: job }]);
    await world.drained('fanout', ['fanout']);
    // xena got it on her socket and said so; yuri's phone never answered.
    await world.emitter.emit([
      { topic: 'acks', key: job.messageId, value: ack({ ackId: 'x-ack', messageId: job.messageId, uid: 'xena' }) },
    ]);
    await world.drained('ack', ['acks', 'events']);

    // The stage's own probe: the ack stage's group has recorded every ack and event produced so far.
    const admin = createKafka(world.config).admin();
    await admin.connect();
    const recordedUntil = ackRecordedUntil(world.config, admin);
    const result = await sweepEscalations({
      store: createEscalationStore(cassandra),
      acknowledged: acknowledgedBy(messages),
      recordedUntil,
      emit: (records) => world.emitter.emit(records),
      owner: 'test',
      now: () => Date.now() + 5_000,
    }).finally(() => admin.disconnect());
    expect(result).toEqual({ escalated: 1, acknowledged: 1, deferred: 0 });

    const batchesOf = async (topic: string) =>
      (await readTopic<DeliveryBatch>(world.config, topic))
        .map((record) => record.value)
        .filter((batch) => batch.messageId === job.messageId);
    // Urgent messages also go to open sockets: yuri gets a ws copy beside his apns delivery. Urgency 4 has
    // delivery topics of its own, and the escalated batch stays on them.
    expect(await batchesOf('deliver.ws')).toEqual([]);
    expect(
      (await batchesOf('deliver.ws.urgent'))
        .flatMap((batch) => batch.recipients.map((recipient) => recipient.uid))
        .sort(),
    ).toEqual(['xena', 'yuri']);
    expect(
      (await batchesOf('deliver.apns.urgent')).flatMap((batch) => batch.recipients.map((recipient) => recipient.uid)),
    ).toEqual(['yuri']);
    const escalated = await batchesOf('deliver.sms.urgent');
    expect(
      escalated.map((batch) => [
        batch.escalatedFrom,
        batch.attempt,
        batch.recipients.map((recipient) => recipient.uid),
      ]),
    ).toEqual([['apns', 1, ['yuri']]]);
    // A second sweep finds nothing left to do.
    const again = await sweepEscalations({
      store: createEscalationStore(cassandra),
      acknowledged: acknowledgedBy(messages),
      recordedUntil: async () => true,
      emit: (records) => world.emitter.emit(records),
      owner: 'test',
      now: () => Date.now() + 5_000,
    });
    expect(again).toEqual({ escalated: 0, acknowledged: 0, deferred: 0 });
  });
});
