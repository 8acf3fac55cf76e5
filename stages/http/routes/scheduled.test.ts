import { describe, expect, it } from 'vitest';
import { createCanceller } from '../../../pipeline/schedule/cancel.ts';
import type { CancelOutcome, ScheduledInfo } from '../../../pipeline/store/schedule.ts';
import { unitApp } from '../../../test/support/http.ts';

/** DELETE /api/v1/scheduled/{requestId} over the scheduler's real canceller and an in-memory schedule. */

function schedule(states: Record<string, ScheduledInfo['state']>) {
  const cancelledBy: string[] = [];
  return {
    cancelledBy,
    store: {
      async getScheduled(requestId: string): Promise<ScheduledInfo | null> {
        const state = states[requestId];
        if (state === undefined) return null;
        return { requestId, dueAt: new Date(0), senderId: 'alice', scheduledAt: null, state, cancelledBy: null };
      },
      async cancelScheduled(requestId: string, by: string): Promise<CancelOutcome> {
        const state = states[requestId];
        if (state === 'pending') {
          states[requestId] = 'cancelled';
          cancelledBy.push(by);
          return 'cancelled';
        }
        return state === 'cancelled' ? 'already_cancelled' : 'too_late';
      },
    },
  };
}

describe('DELETE /api/v1/scheduled/{requestId}', () => {
  it('lets the sender, admins and services cancel, and tells others apart', async () => {
    const held = schedule({ 'r-1': 'pending', 'r-2': 'pending', 'r-3': 'pending', sent: 'done' });
    const { call } = unitApp({ scheduled: createCanceller({ schedule: held.store }) });

    const stranger = await call('DELETE', '/api/v1/scheduled/r-1', { as: 'mallory' });
    expect([stranger.status, (stranger.body as { error: string }).error]).toEqual([403, 'FORBIDDEN']);
    const mine = await call('DELETE', '/api/v1/scheduled/r-1', { as: 'alice' });
    expect([mine.status, mine.body]).toEqual([200, { requestId: 'r-1', state: 'cancelled', changed: true }]);
    const again = await call('DELETE', '/api/v1/scheduled/r-1', { as: 'alice' });
    expect(again.body).toEqual({ requestId: 'r-1', state: 'cancelled', changed: false });
    expect((await call('DELETE', '/api/v1/scheduled/r-2', { as: 'root', roles: ['admin'] })).status).toBe(200);
    expect((await call('DELETE', '/api/v1/scheduled/r-3', { as: 'billing', roles: ['service'] })).status).toBe(200);
    expect(held.cancelledBy).toEqual(['alice', 'root', 'billing']);

    const unknown = await call('DELETE', '/api/v1/scheduled/r-9', { as: 'alice' });
    expect([unknown.status, (unknown.body as { error: string }).error]).toEqual([404, 'SCHEDULED_NOT_FOUND']);
    const late = await call('DELETE', '/api/v1/scheduled/sent', { as: 'alice' });
    expect([late.status, (late.body as { error: string }).error]).toEqual([409, 'SCHEDULED_TOO_LATE']);
    expect((await call('DELETE', '/api/v1/scheduled/r-2', { as: null })).status).toBe(401);
    expect((await call('DELETE', `/api/v1/scheduled/${'x'.repeat(201)}`, { as: 'alice' })).status).toBe(400);
  });
});
