import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { OutputRecord } from '../../pipeline/runtime/types.ts';
import type { DueRow, ScheduleClaims } from '../../pipeline/schedule/types.ts';
import type { PrioritizedRequest } from '../../schemas/types.generated.ts';
import { fixtureNow, ingestRequest } from '../../test/support/prioritize.ts';
import { createSchedulerLoop } from './loop.ts';

/** An in-memory schedule with the store's contract: a claim is won by one owner until its lease ends. */
function memorySchedule(rows: DueRow[]) {
  const state = new Map(
    rows.map((row) => [row.requestId, { owner: null as string | null, leaseUntil: 0, done: false }]),
  );
  const claims: ScheduleClaims = {
    async due(now, limit) {
      return rows
        .filter((row) => {
          const entry = state.get(row.requestId);
          return entry && !entry.done && row.dueAt <= now && (entry.owner === null || entry.leaseUntil <= now);
        })
        .slice(0, limit);
    },
    async claim(row, owner, leaseUntil) {
      // Yield first so two loops interleave like two processes would.
      await new Promise((resolve) => setImmediate(resolve));
      const entry = state.get(row.requestId);
      if (!entry || entry.done || (entry.owner !== null && entry.leaseUntil > fixtureNow)) return false;
      entry.owner = owner;
      entry.leaseUntil = leaseUntil;
      return true;
    },
    async complete(row, owner) {
      const entry = state.get(row.requestId);
      if (entry?.owner === owner) entry.done = true;
    },
  };
  return { claims, state };
}

const log = pino({ level: 'silent' });

function held(requestId: string, dueAt: number, expiresAt: number | null = null): DueRow {
  return {
    requestId,
    dueAt,
    held: { request: ingestRequest({ requestId, scheduledAt: dueAt }), dueAt, urgency: 2, expiresAt },
  };
}

describe('scheduler loop', () => {
  it('re-injects each due row exactly once across two instances, into its lane, and nothing early', async () => {
    const rows = [
      ...Array.from({ length: 40 }, (_, index) => held(`due-${index}`, fixtureNow - index)),
      held('later', fixtureNow + 60_000),
    ];
    const { claims } = memorySchedule(rows);
    const sent: OutputRecord[] = [];
    const sink = {
      async send(records: OutputRecord[]) {
        sent.push(...records);
      },
    };
    const options = { claims, sink, log, now: () => fixtureNow, batchLimit: 15 };
    const a = createSchedulerLoop({ ...options, owner: 'a' });
    const b = createSchedulerLoop({ ...options, owner: 'b' });
    for (let round = 0; round < 4; round++) await Promise.all([a.tick(), b.tick()]);

    const ids = sent.map((record) => (record.value as PrioritizedRequest).request.requestId);
    expect(ids.sort()).toEqual(
      rows
        .slice(0, 40)
        .map((row) => row.requestId)
        .sort(),
    );
    expect(new Set(sent.map((record) => record.topic))).toEqual(new Set(['lane.2']));
    expect(sent[0]?.value).toMatchObject({ scheduled: true, urgency: 2, prioritizedAt: fixtureNow });
  });

  it('turns a row that expired while held into an expired event', async () => {
    const { claims } = memorySchedule([held('stale', fixtureNow - 10_000, fixtureNow - 1)]);
    const sent: OutputRecord[] = [];
    const loop = createSchedulerLoop({
      claims,
      sink: { send: async (records) => void sent.push(...records) },
      log,
      owner: 'a',
      now: () => fixtureNow,
    });
    expect(await loop.tick()).toEqual({ due: 1, claimed: 1, injected: 0, expired: 1 });
    expect(sent).toEqual([
      expect.objectContaining({
        topic: 'events',
        value: expect.objectContaining({ type: 'expired', requestId: 'stale' }),
      }),
    ]);
  });

  it('leaves a row claimed but not done when producing fails, so it fires after the lease', async () => {
    const { claims, state } = memorySchedule([held('retry-me', fixtureNow - 1)]);
    const loop = createSchedulerLoop({
      claims,
      sink: {
        send: async () => {
          throw new Error('broker down');
        },
      },
      log,
      owner: 'a',
      now: () => fixtureNow,
    });
    await expect(loop.tick()).rejects.toThrow('broker down');
    expect(state.get('retry-me')).toMatchObject({ owner: 'a', done: false });
  });
});
