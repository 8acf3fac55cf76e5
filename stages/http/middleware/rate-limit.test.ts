import { describe, expect, it } from 'vitest';
import { signDevelopmentToken } from '../../../pipeline/auth/sign.ts';
import type { IngestRequestInput } from '../../../schemas/index.ts';
import { memoryPublisher, thread, unitApp, unitDeps } from '../../../test/support/http.ts';
import { createBuckets } from './rate-limit.ts';

const secret = 'unit-tests-secret-that-is-long-enough-for-hs256';

const tid = '0b6f3c2a-1d4e-4f5a-8b9c-0d1e2f3a4b5c';
const otherTid = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

describe('token buckets', () => {
  it('allow a burst, then one request per interval, and say how long to wait', () => {
    let now = 0;
    const buckets = createBuckets(2, 3, () => now);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(500);
    expect(buckets.take('b')).toBe(0);
    now = 500;
    expect([buckets.take('a'), buckets.take('a')]).toEqual([0, 500]);
    expect(createBuckets(0, 0, () => now).take('a')).toBe(0);
  });
});

function app(rate: Partial<ReturnType<typeof unitDeps>['limits']['rate']>) {
  const deps = unitDeps();
  let now = deps.clock();
  const ingest = memoryPublisher<IngestRequestInput>();
  const { call } = unitApp({
    ingest,
    clock: () => now,
    threads: { ...deps.threads, getThread: async (id) => thread({ tid: id, owner: 'bob', openPublish: true }) },
    limits: { ...deps.limits, rate: { ...deps.limits.rate, ...rate } },
  });
  return { call, ingest: ingest.sent, advance: (ms: number) => (now += ms) };
}

describe('rate limits on the facade', () => {
  it('answers 429 with Retry-After once a user spends their budget, and lets them in again later', async () => {
    const { call, advance } = app({ userPerSecond: 1, userBurst: 2 });
    const publish = () => call('POST', '/api/v1/publish', { json: { tid, msg: 'hi' } });
    expect([(await publish()).status, (await publish()).status]).toEqual([200, 200]);
    const limited = await publish();
    expect([limited.status, (limited.body as { error: string }).error]).toEqual([429, 'RATE_LIMITED']);
    expect(limited.headers.get('retry-after')).toBe('1');
    // Another user is not affected; admins are the system acting and are not limited.
    expect((await call('POST', '/api/v1/publish', { as: 'carol', json: { tid, msg: 'hi' } })).status).toBe(200);
    const admin = { as: 'root', roles: ['admin'], json: { msg: 'x', uid: 'bob' } };
    for (let round = 0; round < 5; round++) expect((await call('POST', '/api/v1/send', admin)).status).toBe(200);
    advance(1000);
    expect((await publish()).status).toBe(200);
  });

  it('does not let one user flood a thread, whatever their other budgets', async () => {
    const { call, ingest, advance } = app({ threadPerMinute: 6, threadBurst: 2 });
    const publish = (to: string) => call('POST', '/api/v1/publish', { json: { tid: to, msg: 'spam' } });
    expect([(await publish(tid)).status, (await publish(tid)).status]).toEqual([200, 200]);
    const flooded = await publish(tid);
    expect(flooded.status).toBe(429);
    expect(flooded.headers.get('retry-after')).toBe('10');
    // Other threads, and other users on this thread, still get through.
    expect((await publish(otherTid)).status).toBe(200);
    expect((await call('POST', '/api/v1/publish', { as: 'dave', json: { tid, msg: 'mine' } })).status).toBe(200);
    expect(ingest).toHaveLength(4);
    advance(10_000);
    expect((await publish(tid)).status).toBe(200);
  });

  it('limits each token apart from the user, so one runaway device cannot spend the whole budget', async () => {
    const deps = unitDeps();
    const { app: hono } = unitApp({
      ingest: memoryPublisher<IngestRequestInput>(),
      threads: { ...deps.threads, getThread: async (id) => thread({ tid: id, owner: 'bob', openPublish: true }) },
      limits: {
        ...deps.limits,
        rate: { ...deps.limits.rate, tokenPerSecond: 1, tokenBurst: 1, userPerSecond: 100, userBurst: 100 },
      },
    });
    const device = (expiresIn: string) => signDevelopmentToken({ secret, sub: 'bob', expiresIn });
    const [phone, laptop] = [await device('5m'), await device('6m')];
    const publish = async (token: string) =>
      (
        await hono.request('/api/v1/publish', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ tid, msg: 'x' }),
        })
      ).status;
    expect([await publish(phone), await publish(phone)]).toEqual([200, 429]);
    expect(await publish(laptop)).toBe(200);
  });
});
