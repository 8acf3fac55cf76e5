import { describe, expect, it } from 'vitest';
import { fixtureNow, ingestRequest } from '../../test/support/prioritize.ts';
import { resolveExpiry, route } from './route.ts';

const now = fixtureNow;

describe('route', () => {
  it('resolves expiry from expiresAt, else ttl from scheduledAt or createdAt', () => {
    expect(resolveExpiry(ingestRequest())).toBeNull();
    expect(resolveExpiry(ingestRequest({ ttlSeconds: 10 }))).toBe(now + 10_000);
    expect(resolveExpiry(ingestRequest({ ttlSeconds: 10, scheduledAt: now + 60_000 }))).toBe(now + 70_000);
    expect(resolveExpiry(ingestRequest({ ttlSeconds: 10, expiresAt: now + 1 }))).toBe(now + 1);
  });

  it('expires before holding, holds what is due later than the slack, routes the rest', () => {
    expect(route(ingestRequest({ ttlSeconds: 1 }), now + 1_000)).toEqual({ action: 'expire', expiresAt: now + 1_000 });
    expect(route(ingestRequest({ scheduledAt: now + 60_000, expiresAt: now + 30_000 }), now + 40_000).action).toBe(
      'expire',
    );
    expect(route(ingestRequest({ scheduledAt: now + 60_000 }), now)).toEqual({
      action: 'hold',
      dueAt: now + 60_000,
      expiresAt: null,
    });
    expect(route(ingestRequest({ scheduledAt: now + 1_000 }), now, 2_000).action).toBe('lane');
    expect(route(ingestRequest({ scheduledAt: now - 5_000 }), now).action).toBe('lane');
  });
});
