import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { outcomeOf } from './adapter.ts';
import { topicOf, urgencyHeader } from './payload.ts';
import { VapidCache, vapidRefreshMs } from './vapid.ts';

describe('Web Push headers and answers', () => {
  it('Topic is the collapse key when it fits, else 32 base64url characters of its digest', () => {
    expect(topicOf('chat-1')).toBe('chat-1');
    expect(topicOf('thread:42 with spaces')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(topicOf(null)).toBeUndefined();
    expect(urgencyHeader).toEqual({ 1: 'very-low', 2: 'low', 3: 'normal', 4: 'high' });
  });

  it('maps push-service answers onto outcomes', () => {
    expect(outcomeOf('d', 201, undefined, 'https://x/m/1')).toMatchObject({
      status: 'sent',
      providerMessageId: 'https://x/m/1',
    });
    expect(outcomeOf('d', 410, undefined)).toMatchObject({ status: 'rejected', prune: true });
    expect(outcomeOf('d', 404, undefined)).toMatchObject({ status: 'rejected', prune: true });
    expect(outcomeOf('d', 429, 5_000)).toMatchObject({ status: 'throttled', retryAfterMs: 5_000 });
    expect(outcomeOf('d', 502, undefined)).toMatchObject({ status: 'failed' });
    expect(outcomeOf('d', 413, undefined)).toMatchObject({ status: 'rejected' });
  });

  it('signs one VAPID JWT per origin and re-signs after an hour', () => {
    let now = 1_000_000;
    const cache = new VapidCache({ ...webpush.generateVAPIDKeys(), subject: 'mailto:a@b.c' }, () => now);
    const first = cache.authorizationFor('https://push.example/a');
    expect(cache.authorizationFor('https://push.example/b')).toBe(first);
    cache.authorizationFor('https://other.example/a');
    expect(cache.signatures).toBe(2);
    now += vapidRefreshMs;
    expect(cache.authorizationFor('https://push.example/c')).not.toBe(first);
    expect(cache.signatures).toBe(3);
  });
});
