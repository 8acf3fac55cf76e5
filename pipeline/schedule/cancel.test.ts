import { describe, expect, it } from 'vitest';
import { fixtureNow, ingestRequest } from '../../test/support/prioritize.ts';
import type { OutputRecord } from '../runtime/types.ts';
import type { CancelOutcome, ScheduledInfo } from '../store/schedule.ts';
import { createCanceller } from './cancel.ts';
import { decodeHeld, encodeHeld } from './record.ts';

function fakeSchedule(state: ScheduledInfo['state'] | 'missing') {
  const calls: string[] = [];
  const schedule = {
    async getScheduled(requestId: string): Promise<ScheduledInfo | null> {
      if (state === 'missing') return null;
      return {
        requestId,
        dueAt: new Date(fixtureNow),
        senderId: 'u-sender',
        scheduledAt: null,
        state,
        cancelledBy: null,
      };
    },
    async cancelScheduled(requestId: string, by: string): Promise<CancelOutcome> {
      calls.push(`${requestId} by ${by}`);
      if (state === 'pending') return 'cancelled';
      if (state === 'cancelled') return 'already_cancelled';
      return 'too_late';
    },
  };
  return { schedule, calls };
}

describe('cancelScheduled', () => {
  it('lets the sender or an admin cancel, and records a cancelled event', async () => {
    const { schedule, calls } = fakeSchedule('pending');
    const sent: OutputRecord[] = [];
    const canceller = createCanceller({ schedule, events: { send: async (records) => void sent.push(...records) } });
    expect(await canceller.cancelScheduled('r1', { uid: 'u-sender', admin: false })).toEqual({
      requestId: 'r1',
      state: 'cancelled',
      changed: true,
    });
    await canceller.cancelScheduled('r2', { uid: 'root', admin: true });
    expect(calls).toEqual(['r1 by u-sender', 'r2 by root']);
    expect(sent.map((record) => record.value)).toEqual([
      expect.objectContaining({ eventId: 'r1:cancelled', type: 'cancelled', reason: 'CANCELLED' }),
      expect.objectContaining({ eventId: 'r2:cancelled', detail: 'cancelled by admin root' }),
    ]);
  });

  it('refuses others, reports unknown ids and requests already sent', async () => {
    const pending = createCanceller({ schedule: fakeSchedule('pending').schedule });
    await expect(pending.cancelScheduled('r', { uid: 'u-other', admin: false })).rejects.toMatchObject({ status: 403 });
    const missing = createCanceller({ schedule: fakeSchedule('missing').schedule });
    await expect(missing.cancelScheduled('r', { uid: 'u-sender', admin: false })).rejects.toMatchObject({
      code: 'SCHEDULED_NOT_FOUND',
      status: 404,
    });
    const fired = createCanceller({ schedule: fakeSchedule('done').schedule });
    await expect(fired.cancelScheduled('r', { uid: 'u-sender', admin: false })).rejects.toMatchObject({
      code: 'SCHEDULED_TOO_LATE',
      status: 409,
    });
    const again = createCanceller({ schedule: fakeSchedule('cancelled').schedule });
    expect((await again.cancelScheduled('r', { uid: 'u-sender', admin: false })).changed).toBe(false);
  });
});

describe('schedule record', () => {
  it('round-trips a held request and refuses what it does not know', () => {
    const held = {
      request: ingestRequest({ scheduledAt: fixtureNow + 5 }),
      dueAt: fixtureNow + 5,
      urgency: 4,
      expiresAt: null,
    };
    expect(decodeHeld(encodeHeld(held))).toEqual(held);
    expect(() => decodeHeld(Buffer.from('{'))).toThrow(expect.objectContaining({ code: 'SCHEDULE_RECORD_INVALID' }));
    expect(() => decodeHeld(Buffer.from('{"v":2}'))).toThrow(/unknown record/);
  });
});
