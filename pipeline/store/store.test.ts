import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { checkMessageId, dayOf, leadingState, microsOf } from './message-types.ts';
import { bucketOf, checkChannelList, decodeCursor, encodeCursor } from './shared.ts';
import { checkThreadFields } from './thread-types.ts';
import { deviceFromEnlist, deviceId } from './user-types.ts';

describe('store helpers', () => {
  it('buckets keys stably and evenly enough', () => {
    expect(bucketOf('user-42', 16)).toBe(bucketOf('user-42', 16));
    const counts = new Array(16).fill(0);
    for (let index = 0; index < 16_000; index += 1) counts[bucketOf(`u${index}`, 16)] += 1;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });

  it('round-trips page cursors and refuses forged ones', () => {
    expect(decodeCursor(encodeCursor(3, 'ab01'), 16)).toEqual({ bucket: 3, pageState: 'ab01' });
    expect(decodeCursor(encodeCursor(5, null), 16)).toEqual({ bucket: 5 });
    expect(decodeCursor(null, 16)).toEqual({ bucket: 0 });
    expect(() => decodeCursor(encodeCursor(16, null), 16)).toThrow(/cursor/);
    expect(() => decodeCursor('%%%', 16)).toThrow(/cursor/);
  });

  it('accepts channel lists in order, or "~" alone', () => {
    expect(checkChannelList(['sms', 'ws'], 'x')).toEqual(['sms', 'ws']);
    expect(checkChannelList(['~'], 'x')).toEqual(['~']);
    expect(() => checkChannelList(['ws', 'ws'], 'x')).toThrow();
    expect(() => checkChannelList(['fax'], 'x')).toThrow();
  });

  it('maps the seed enlist bodies to devices with stable ids', () => {
    const ios = deviceFromEnlist({ os: 'ios', token: 't' });
    expect(ios).toEqual({ channel: 'apns', token: 't', platform: 'ios' });
    expect(deviceFromEnlist({ os: 'android', token: 't' }).channel).toBe('fcm');
    expect(deviceId(ios)).toMatch(/^[0-9a-f]{32}$/);
    expect(deviceId(ios)).not.toBe(deviceId({ channel: 'fcm', token: 't' }));
    const web = deviceFromEnlist({ endpoint: 'https://push.test/1', keys: { p256dh: 'k', auth: 'a' } });
    expect(web).toMatchObject({ channel: 'webpush', subscription: { expirationTime: null } });
  });

  it('checks thread fields every writer must respect', () => {
    expect(() => checkThreadFields({ urgency: 4, channelTypes: ['ws'] })).not.toThrow();
    expect(() => checkThreadFields({ urgency: 0 })).toThrow();
    expect(() => checkThreadFields({ channelTypes: ['~'] })).toThrow();
    const variant = (name: string, weight: number) => ({
      name,
      weight,
      uids: null,
      subject: null,
      msg: null,
      channels: null,
    });
    expect(() =>
      checkThreadFields({ experiment: { id: 'e', variants: [variant('a', 50), variant('b', 50)] } }),
    ).not.toThrow();
    expect(() =>
      checkThreadFields({ experiment: { id: 'e', variants: [variant('a', 50), variant('a', 50)] } }),
    ).toThrow();
    expect(() => checkThreadFields({ experiment: { id: 'e', variants: [] } })).toThrow();
  });

  it('reads time out of message ids and ranks delivery states', () => {
    const at = new Date(Date.UTC(2026, 0, 31, 23, 59, 59, 999));
    const id = types.TimeUuid.fromDate(at, 1234).toString();
    expect(dayOf(id)).toBe(20260131);
    expect(microsOf(id)).toBe(at.getTime() * 1000 + 123);
    expect(checkMessageId(id.toUpperCase())).toBe(id);
    expect(() => checkMessageId('6f1c2c7e-8c39-4a4e-9d7c-2f8b7b0d1a11')).toThrow(/time UUID/);
    expect(leadingState({ queued: 1, delivered: 1, sent: 1 })).toBe('delivered');
    expect(leadingState({ failed: 1, queued: 1 })).toBe('failed');
    expect(leadingState({ escalated: 1 })).toBe('escalated');
  });
});
