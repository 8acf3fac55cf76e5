import { describe, expect, it } from 'vitest';
import type { AudienceChange } from '../../schemas/types.generated.ts';
import { MsgxcError } from '../errors/index.ts';
import { BUCKETS, bucketOf, sliceRange } from './bucket.ts';
import { changeToScriptInput, snapshotToScriptInput } from './changes.ts';
import { querySegments, UIDS_PER_SEGMENT } from './queries.ts';

const base: AudienceChange = {
  changeId: 'c-1',
  type: 'subscribe',
  uid: 'u-1',
  at: 1_700_000_000_000,
  device: null,
  tid: null,
  preferences: null,
  profile: null,
  cohort: null,
  split: null,
  source: null,
  trace: null,
};

describe('slices', () => {
  it('cut the bucket space into disjoint ranges that cover it', () => {
    for (const max of [1, 2, 3, 7, 64, BUCKETS]) {
      let next = 0;
      for (let id = 0; id < max; id++) {
        const { from, to } = sliceRange({ id, max });
        expect(from).toBe(next);
        expect(to).toBeGreaterThan(from);
        next = to;
      }
      expect(next).toBe(BUCKETS);
    }
  });

  it('refuse impossible slices', () => {
    expect(() => sliceRange({ id: 3, max: 3 })).toThrow(MsgxcError);
    expect(() => sliceRange({ id: 0, max: 0 })).toThrow(MsgxcError);
    expect(() => sliceRange({ id: 0, max: BUCKETS + 1 })).toThrow(MsgxcError);
  });

  it('put a uid in the same bucket every time, spread over the space', () => {
    expect(bucketOf('user-1')).toBe(bucketOf('user-1'));
    const buckets = new Set(Array.from({ length: 1000 }, (_, i) => bucketOf(`user-${i}`)));
    expect(buckets.size).toBeGreaterThan(700);
    for (const bucket of buckets) expect(bucket).toBeLessThan(BUCKETS);
  });
});

describe('changes', () => {
  it('key each element the way the snapshot merge does', () => {
    const device = {
      channel: 'apns' as const,
      id: 'd-1',
      token: 't',
      subscription: null,
      address: null,
      platform: null,
    };
    expect(changeToScriptInput({ ...base, type: 'enlist_device', device })).toMatchObject({
      mode: 'change',
      ops: [{ k: 'device:apns:d-1', t: 'device', on: true, v: device }],
    });
    expect(changeToScriptInput({ ...base, type: 'unsubscribe', tid: 't-1' })).toMatchObject({
      ops: [{ k: 'tid:t-1', t: 'remove', f: 'tids', v: 't-1' }],
    });
    expect(
      changeToScriptInput({
        ...base,
        type: 'preferences',
        preferences: { tid: null, channels: ['sms'], optOut: true },
      }),
    ).toMatchObject({ ops: [{ k: 'channels', t: 'set', v: ['~'] }] });
    expect(
      changeToScriptInput({ ...base, type: 'preferences', preferences: { tid: 't', channels: [], optOut: false } }),
    ).toMatchObject({ ops: [{ k: 'prefs:t', t: 'keyed', v: null }] });
    expect(
      changeToScriptInput({ ...base, type: 'profile', profile: { locale: 'en', timeZone: null, lastSeen: null } }),
    ).toMatchObject({ ops: [{ k: 'locale', t: 'set', v: 'en' }] });
    expect(changeToScriptInput({ ...base, type: 'delete_user' })).toEqual({ mode: 'delete', uid: 'u-1', at: base.at });
  });

  it('refuse a change missing what its type needs, permanently', () => {
    for (const type of ['subscribe', 'enlist_device', 'preferences', 'profile', 'cohort', 'split'] as const) {
      const error = (() => {
        try {
          changeToScriptInput({ ...base, type });
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toMatchObject({ code: 'INVALID_AUDIENCE_CHANGE', retriable: false });
    }
  });

  it('normalise a snapshot: unique elements, newest device first kept, defaults filled', () => {
    const input = snapshotToScriptInput(
      {
        uid: 'u',
        tids: ['a', 'a', 'b'],
        devices: {
          fcm: [
            { channel: 'fcm', id: 'x', token: 'new', subscription: null, address: null, platform: null },
            { channel: 'fcm', id: 'x', token: 'old', subscription: null, address: null, platform: null },
          ],
        },
      },
      42,
    );
    expect(input).toMatchObject({
      mode: 'snapshot',
      at: 42,
      doc: { tids: ['a', 'b'], channels: [], locale: null, devices: { ws: false, fcm: [{ token: 'new' }], apns: [] } },
    });
  });
});

describe('queries', () => {
  it('leave tombstones out and cut long uid lists into segments', () => {
    const uids = Array.from({ length: UIDS_PER_SEGMENT * 2 + 1 }, (_, i) => `u${i}`);
    const segments = querySegments({ kind: 'uids', uids: [...uids, ...uids] });
    expect(segments).toHaveLength(3);
    for (const segment of segments) {
      expect(segment).toMatchObject({ bool: { must_not: [{ exists: { field: 'deletedAt' } }] } });
    }
    expect(querySegments({ kind: 'uids', uids: [] })).toEqual([]);
  });

  it('refuse a query without its parameter', () => {
    expect(() => querySegments({ kind: 'thread', tid: '' })).toThrow(MsgxcError);
    expect(() => querySegments({ kind: 'split', experiment: 'e', variant: '' })).toThrow(MsgxcError);
  });
});
