import { describe, expect, it } from 'vitest';
import { planRecording, type RecipientUpdates } from './delivery-recording.ts';
import type { DeliveryUpdate } from './message-types.ts';

const m1 = '5d8a0f20-cf7e-11f0-8000-000000000001';
const m2 = '5d8a0f20-cf7e-11f0-8000-000000000002';
const update = (state: string, at: number, extra: Partial<DeliveryUpdate> = {}): DeliveryUpdate => ({
  messageId: m1,
  uid: 'u1',
  channel: 'ws',
  state,
  at,
  ...extra,
});
const recipient = (updates: DeliveryUpdate[], known?: string[], messageId = m1): RecipientUpdates => ({
  messageId,
  uid: updates[0]!.uid,
  channel: updates[0]!.channel,
  updates,
  known: known && new Set(known),
});
const counts = (plan: ReturnType<typeof planRecording>) =>
  Object.fromEntries([...plan.counts.values()].map((c) => [`${c.messageId.slice(-1)} ${c.channel} ${c.state}`, c.by]));

describe('planning a bulk delivery recording', () => {
  it('records each state once, counts it once, and counts a recipient once when it had no row', () => {
    const plan = planRecording([
      recipient([update('sent', 1), update('sent', 5), update('delivered', 2)]),
      recipient([update('sent', 1, { uid: 'u2' })]),
      recipient([update('sent', 1, { messageId: m2, uid: 'u3', channel: 'webpush' })], undefined, m2),
    ]);
    expect(plan.firsts).toBe(4);
    expect(counts(plan)).toEqual({
      '1 ws sent': 2,
      '1 ws delivered': 1,
      '1 ws *': 2,
      '2 webpush sent': 1,
      '2 webpush *': 1,
    });
    expect(plan.writes.map((write) => [write.uid, write.states])).toEqual([
      ['u1', { sent: new Date(1), delivered: new Date(2) }],
      ['u2', { sent: new Date(1) }],
      ['u3', { sent: new Date(1) }],
    ]);
  });

  it('writes nothing and counts nothing for states a recipient already has', () => {
    const plan = planRecording([recipient([update('sent', 1), update('delivered', 2)], ['sent', 'delivered'])]);
    expect(plan).toEqual({ writes: [], counts: new Map(), firsts: 0 });
  });

  it('counts a recipient that already had a row only for its new states', () => {
    const plan = planRecording([recipient([update('sent', 1), update('opened', 3)], ['sent'])]);
    expect(counts(plan)).toEqual({ '1 ws opened': 1 });
  });

  it('keeps the last value each new update gave, and never erases one with a later absent value', () => {
    const plan = planRecording([
      recipient([
        update('sent', 1, { deviceId: 'd1', variant: 'b' }),
        update('failed', 2, { errorCode: 'GONE', error: '410' }),
        update('sent', 9, { deviceId: 'ignored: a repeat' }),
      ]),
    ]);
    expect(plan.writes).toEqual([
      {
        messageId: m1,
        uid: 'u1',
        channel: 'ws',
        states: { sent: new Date(1), failed: new Date(2) },
        at: new Date(2),
        deviceId: 'd1',
        variant: 'b',
        errorCode: 'GONE',
        error: '410',
      },
    ]);
  });
});
