import { describe, expect, it } from 'vitest';
import { fixtureNow, ingestRequest } from '../../test/support/prioritize.ts';
import { defaultLimits, findProblem, INVALID_REQUEST, validateRequest } from './ingest.ts';

const now = fixtureNow;

describe('findProblem', () => {
  it('accepts a plain publish and every kind with its audience field', () => {
    expect(findProblem(ingestRequest(), now)).toBeUndefined();
    const none = { tid: null };
    expect(findProblem(ingestRequest({ ...none, kind: 'send', uid: 'u-bob' }), now)).toBeUndefined();
    expect(findProblem(ingestRequest({ ...none, kind: 'multicast', uids: ['a', 'b'] }), now)).toBeUndefined();
    expect(findProblem(ingestRequest({ ...none, kind: 'broadcast' }), now)).toBeUndefined();
    expect(findProblem(ingestRequest({ ...none, kind: 'cohort', cohort: 'vip' }), now)).toBeUndefined();
    expect(
      findProblem(ingestRequest({ ...none, kind: 'split', experimentId: 'exp', variant: 'b' }), now),
    ).toBeUndefined();
    // A data-only message is fine.
    expect(findProblem(ingestRequest({ msg: null, data: '{"a":1}' }), now)).toBeUndefined();
  });

  it.each([
    [{ tid: null }, 'kind publish needs tid'],
    [{ uid: 'u-bob' }, 'kind publish does not take uid'],
    [{ kind: 'send' as const, tid: null }, 'kind send needs uid'],
    [{ kind: 'send' as const, uid: 'u', uids: ['x'] }, 'kind send does not take uids'],
    [{ kind: 'multicast' as const, uids: [] }, 'kind multicast needs a non-empty uids list'],
    [{ kind: 'multicast' as const, uids: ['a', ' '] }, 'uids entry is empty'],
    [{ kind: 'broadcast' as const, uid: 'u' }, 'kind broadcast does not take uid'],
    [{ kind: 'cohort' as const }, 'kind cohort needs cohort'],
    [{ kind: 'split' as const, variant: 'b' }, 'kind split needs experimentId and variant'],
    [{ urgency: 0 }, 'urgency must be 1-4, got 0'],
    [{ urgency: 5 }, 'urgency must be 1-4, got 5'],
    [{ msg: null }, 'a message needs msg or data'],
    [{ msg: '  ', data: null }, 'a message needs msg or data'],
    [{ msg: 'x'.repeat(defaultLimits.messageMaxBytes + 1) }, 'msg is larger than 4096 bytes'],
    [{ data: '{nope' }, 'data is not valid JSON'],
    [{ opts: '[' }, 'opts is not valid JSON'],
    [{ requestId: '' }, 'requestId is empty'],
    [{ requestId: 'a\nb' }, 'requestId contains control characters'],
    [{ channels: [] }, 'channels, when given, must name at least one channel'],
    [{ ttlSeconds: 0 }, 'ttlSeconds must be positive'],
    [{ expiresAt: now - 1 }, 'expiresAt is not after createdAt'],
    [{ scheduledAt: now + 10_000, expiresAt: now + 5_000 }, 'expiresAt is not after scheduledAt'],
    [{ scheduledAt: now + 400 * 86_400_000 }, 'scheduledAt is too far in the future'],
    [{ collapseKey: 'k'.repeat(65) }, 'collapseKey is larger than 64 bytes'],
  ])('refuses %o: %s', (overrides, reason) => {
    expect(findProblem(ingestRequest(overrides), now)).toBe(reason);
  });

  it('throws a permanent INVALID_REQUEST error carrying the reason', () => {
    let caught: unknown;
    try {
      validateRequest(ingestRequest({ urgency: 9 }), now);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: INVALID_REQUEST, retriable: false, message: 'urgency must be 1-4, got 9' });
  });
});
