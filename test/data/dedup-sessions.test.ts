import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import {
  createDedupStore,
  createSessionStore,
  type DedupStore,
  type SessionStore,
} from '../../pipeline/store/index.ts';
import { createTestKeyspace, sleep, type TestKeyspace } from './support.ts';

let keyspace: TestKeyspace;
let dedup: DedupStore;
let sessions: SessionStore;

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  dedup = createDedupStore(keyspace.client);
  sessions = createSessionStore(keyspace.client);
});
afterAll(async () => keyspace?.dispose());

describe('dedup store: request ids', () => {
  it('says "first seen" once, then "repeat"', async () => {
    expect(await dedup.firstSeen('req-1')).toBe(true);
    expect(await dedup.firstSeen('req-1')).toBe(false);
    expect(await dedup.firstSeen('req-2')).toBe(true);
  });

  it('admits a redelivery of the record that first saw the id, not another record carrying it', async () => {
    expect(await dedup.admit('req-origin', 'ingest/3/100')).toBe(true);
    expect(await dedup.admit('req-origin', 'ingest/3/100')).toBe(true);
    expect(await dedup.admit('req-origin', 'ingest/1/7')).toBe(false);
  });

  it('lets exactly one of many concurrent first sightings win, across clients', async () => {
    const other = createCassandra(keyspace.config);
    try {
      const stores = [dedup, createDedupStore(other)];
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, index) => (stores[index % 2] as DedupStore).firstSeen('req-race')),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    } finally {
      await other.shutdown();
    }
  });

  it('checks a batch, and forgets ids after their TTL', async () => {
    await dedup.firstSeen('req-b');
    expect(
      await dedup.firstSeenMany([{ requestId: 'req-a' }, { requestId: 'req-b' }, { requestId: 'req-a' }], {
        concurrency: 1,
      }),
    ).toEqual([true, false, false]);
    expect(await dedup.firstSeen('req-short', 1)).toBe(true);
    expect(await dedup.firstSeen('req-short', { ttlSeconds: 1 })).toBe(false);
    await sleep(2_500);
    expect(await dedup.firstSeen('req-short', 1)).toBe(true);
  });
});

describe('dedup store: Idempotency-Key', () => {
  it('claims a key once, replays the stored answer, and refuses another body', async () => {
    expect(await dedup.claimIdempotencyKey('key-1', 'body-a')).toEqual({ state: 'new' });
    expect(await dedup.claimIdempotencyKey('key-1', 'body-a')).toEqual({ state: 'pending' });
    expect(await dedup.claimIdempotencyKey('key-1', 'body-b')).toEqual({ state: 'mismatch' });
    expect(await dedup.putIdempotencyResponse('key-1', 'body-a', { status: 200, body: 'true' })).toBe(true);
    expect(await dedup.claimIdempotencyKey('key-1', 'body-a')).toEqual({
      state: 'done',
      answer: { status: 200, body: 'true' },
    });
    expect(await dedup.getIdempotencyKey('key-1')).toMatchObject({
      fingerprint: 'body-a',
      state: 'done',
      answer: { status: 200, body: 'true' },
    });
    // Keys are per scope (caller).
    expect(await dedup.claimIdempotencyKey('key-1', 'body-a', { scope: 'someone-else' })).toEqual({ state: 'new' });
  });

  it('frees a released claim, never a stored answer, and takes over a stale claim', async () => {
    await dedup.claimIdempotencyKey('key-2', 'f');
    await dedup.releaseIdempotencyKey('key-2');
    expect(await dedup.claimIdempotencyKey('key-2', 'f')).toEqual({ state: 'new' });
    await dedup.putIdempotencyResponse('key-2', 'f', { status: 201, body: '{}', headers: { location: '/x' } });
    await dedup.releaseIdempotencyKey('key-2');
    expect(await dedup.claimIdempotencyKey('key-2', 'f')).toEqual({
      state: 'done',
      answer: { status: 201, body: '{}', headers: { location: '/x' } },
    });

    await dedup.claimIdempotencyKey('key-3', 'f');
    await sleep(50);
    expect(await dedup.claimIdempotencyKey('key-3', 'f', { staleAfterMs: 10 })).toEqual({ state: 'new' });
    expect(await dedup.claimIdempotencyKey('key-3', 'f', { staleAfterMs: 60_000 })).toEqual({ state: 'pending' });
  });
});

describe('session store', () => {
  const t = (seconds: number) => new Date(Date.UTC(2026, 5, 1, 12, 0, seconds));

  it('opens, heartbeats and closes a session with its duration', async () => {
    await sessions.openSession({ uid: 'u1', sessionId: 's1', startedAt: t(0), gateway: 'gw-1' });
    await sessions.heartbeat({ uid: 'u1', sessionId: 's1', startedAt: t(0), at: t(30) });
    expect(
      await sessions.closeSession({ uid: 'u1', sessionId: 's1', startedAt: t(0), endedAt: t(95), reason: 'bye' }),
    ).toBe(95_000);
    await sessions.openSession({ uid: 'u1', sessionId: 's2', startedAt: t(100) });
    expect(await sessions.sessionsOf('u1')).toEqual([
      {
        uid: 'u1',
        sessionId: 's2',
        startedAt: t(100),
        gateway: null,
        lastSeenAt: t(100),
        endedAt: null,
        durationMs: null,
        endReason: null,
      },
      {
        uid: 'u1',
        sessionId: 's1',
        startedAt: t(0),
        gateway: 'gw-1',
        lastSeenAt: t(95),
        endedAt: t(95),
        durationMs: 95_000,
        endReason: 'bye',
      },
    ]);
  });

  it('applies check-ins repeated and out of order to one complete row', async () => {
    const connectedAt = t(0).getTime();
    const base = { uid: 'u2', sessionId: 'ws-9', connectedAt, gatewayId: 'gw-2' };
    await sessions.recordCheckIn({ ...base, type: 'disconnect', at: t(60).getTime(), reason: 'closed' });
    await sessions.recordCheckIn({ ...base, type: 'heartbeat', at: t(30).getTime() });
    await sessions.recordCheckIn({ ...base, type: 'connect', at: connectedAt });
    await sessions.recordCheckIn({ ...base, type: 'heartbeat', at: t(30).getTime() });
    expect(await sessions.sessionsOf('u2')).toEqual([
      {
        uid: 'u2',
        sessionId: 'ws-9',
        startedAt: t(0),
        gateway: 'gw-2',
        lastSeenAt: t(60),
        endedAt: t(60),
        durationMs: 60_000,
        endReason: 'closed',
      },
    ]);
  });
});
