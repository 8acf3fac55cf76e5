import { describe, expect, it } from 'vitest';
import type { HeldRequest } from '../../pipeline/schedule/types.ts';
import type { IngestRequest, PrioritizedRequest } from '../../schemas/types.generated.ts';
import { fixtureNow, ingestRequest, inputRecord } from '../../test/support/prioritize.ts';
import { type PrioritizeDeps, prioritizeBatch } from './handler.ts';

/** In-memory stand-ins that keep the real stores' contracts (first claimant wins; hold is insert-if-absent). */
function fakeDeps(threadUrgency: Record<string, number | null> = {}) {
  const claims = new Map<string, string>();
  const held = new Map<string, HeldRequest>();
  const deps: PrioritizeDeps = {
    now: () => fixtureNow,
    gate: {
      async admit(requestId, origin) {
        const first = claims.get(requestId);
        if (first === undefined) {
          claims.set(requestId, origin);
          return true;
        }
        return first === origin;
      },
    },
    schedule: {
      async hold(entry) {
        if (!held.has(entry.request.requestId)) held.set(entry.request.requestId, entry);
      },
    },
    threads: {
      async getThread(tid) {
        return tid in threadUrgency ? { urgency: threadUrgency[tid] ?? null } : null;
      },
    },
  };
  return { deps, claims, held };
}

describe('prioritizeBatch', () => {
  it('routes valid requests to the lane of their urgency, defaulting to the thread, then to normal', async () => {
    const { deps } = fakeDeps({ 't-calls': 4 });
    const outputs = await prioritizeBatch(
      [
        inputRecord(ingestRequest({ requestId: 'a', urgency: 1 })),
        inputRecord(ingestRequest({ requestId: 'b', tid: 't-calls' })),
        inputRecord(ingestRequest({ requestId: 'c' })),
      ],
      deps,
    );
    expect(outputs.map((output) => output.topic)).toEqual(['lane.1', 'lane.4', 'lane.3']);
    const value = outputs[1]?.value as PrioritizedRequest;
    expect(value).toMatchObject({ urgency: 4, scheduled: false, prioritizedAt: fixtureNow });
    expect(value.request.requestId).toBe('b');
    expect(outputs[1]?.key).toBe('b');
  });

  it('fails the whole batch on an invalid record before any side effect', async () => {
    const { deps, claims } = fakeDeps();
    const batch = [
      inputRecord(ingestRequest({ requestId: 'good' })),
      inputRecord(ingestRequest({ requestId: 'bad', urgency: 7 })),
    ];
    await expect(prioritizeBatch(batch, deps)).rejects.toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
    expect(claims.size).toBe(0);
  });

  it('drops a repeat from another record but re-emits a redelivery of the first one', async () => {
    const { deps } = fakeDeps();
    const first = inputRecord(ingestRequest({ requestId: 'dup' }), 'ingest', { partition: 2, offset: '10' });
    const repeat = inputRecord(ingestRequest({ requestId: 'dup' }), 'ingest', { partition: 5, offset: '3' });

    expect((await prioritizeBatch([first], deps)).map((o) => o.topic)).toEqual(['lane.3']);
    // The runtime hands the same record over again after a crash: it must not be lost.
    expect((await prioritizeBatch([first], deps)).map((o) => o.topic)).toEqual(['lane.3']);
    const dropped = await prioritizeBatch([repeat], deps);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ topic: 'events', value: { type: 'dropped', reason: 'DUPLICATE_REQUEST' } });
  });

  it('drops the second of two records with the same id in one batch', async () => {
    const { deps } = fakeDeps();
    const outputs = await prioritizeBatch(
      [inputRecord(ingestRequest({ requestId: 'twice' })), inputRecord(ingestRequest({ requestId: 'twice' }))],
      deps,
    );
    expect(outputs.map((output) => output.topic).sort()).toEqual(['events', 'lane.3']);
  });

  it('turns an expired request into an expired event without marking it seen', async () => {
    const { deps, claims } = fakeDeps();
    const request = ingestRequest({ requestId: 'old', createdAt: fixtureNow - 60_000, ttlSeconds: 30 });
    const outputs = await prioritizeBatch([inputRecord(request)], deps);
    expect(outputs).toEqual([
      {
        topic: 'events',
        key: 'old',
        value: expect.objectContaining({
          eventId: 'old:expired',
          type: 'expired',
          reason: 'EXPIRED',
          source: 'prioritize',
        }),
      },
    ]);
    expect(claims.size).toBe(0);
  });

  it('holds a request scheduled for later and says so with a scheduled event', async () => {
    const { deps, held } = fakeDeps();
    const request: IngestRequest = ingestRequest({
      requestId: 'later',
      scheduledAt: fixtureNow + 3_600_000,
      urgency: 2,
    });
    const outputs = await prioritizeBatch([inputRecord(request)], deps);
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toMatchObject({ topic: 'events', value: { type: 'scheduled', requestId: 'later', urgency: 2 } });
    expect(held.get('later')).toEqual({ request, dueAt: fixtureNow + 3_600_000, urgency: 2, expiresAt: null });
  });
});
