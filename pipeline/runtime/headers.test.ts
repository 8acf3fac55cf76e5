import { describe, expect, it } from 'vitest';
import {
  buildFailureHeaders,
  failureHeader,
  maxErrorMessageLength,
  mergeFailureHeaders,
  readPriorFailure,
  textHeaders,
} from './headers.ts';

const failure = {
  stage: 'triage',
  code: 'THREAD_UNKNOWN',
  message: 'no thread t1',
  attempt: 2,
  source: { topic: 'msgxc.lane.3', partition: 4, offset: '1234' },
  failedAt: new Date('2026-01-02T03:04:05.006Z'),
};

describe('buildFailureHeaders', () => {
  it('says which stage failed the record, why, how often, and where it came from', () => {
    expect(buildFailureHeaders(failure)).toEqual({
      'msgxc-stage': 'triage',
      'msgxc-error-code': 'THREAD_UNKNOWN',
      'msgxc-error-message': 'no thread t1',
      'msgxc-attempt': '2',
      'msgxc-source-topic': 'msgxc.lane.3',
      'msgxc-source-partition': '4',
      'msgxc-source-offset': '1234',
      'msgxc-failed-at': '2026-01-02T03:04:05.006Z',
    });
  });

  it('adds the retry time only for retries', () => {
    expect(buildFailureHeaders({ ...failure, retryAt: 1_700_000_000_000 })['msgxc-retry-at']).toBe('1700000000000');
  });

  it('cuts long error messages', () => {
    const headers = buildFailureHeaders({ ...failure, message: 'x'.repeat(5_000) });
    expect(headers['msgxc-error-message']).toHaveLength(maxErrorMessageLength);
    expect(headers['msgxc-error-message']?.endsWith('…')).toBe(true);
  });
});

describe('mergeFailureHeaders', () => {
  it("keeps the record's own headers byte for byte and replaces an earlier failure's", () => {
    const trace = Buffer.from([0, 1, 2, 255]);
    const merged = mergeFailureHeaders(
      { traceparent: trace, 'msgxc-attempt': '1', 'msgxc-retry-at': '5', gone: undefined },
      buildFailureHeaders(failure),
    );
    expect(merged.traceparent).toBe(trace);
    expect(merged['msgxc-attempt']).toBe('2');
    expect(merged).not.toHaveProperty('msgxc-retry-at');
    expect(merged).not.toHaveProperty('gone');
  });
});

describe('textHeaders', () => {
  it('decodes buffers, keeps the last of repeated values and can hide the runtime headers', () => {
    const headers = { a: Buffer.from('α'), b: ['1', Buffer.from('2')], [failureHeader.attempt]: '3' };
    expect(textHeaders(headers)).toEqual({ a: 'α', b: '2', 'msgxc-attempt': '3' });
    expect(textHeaders(headers, true)).toEqual({ a: 'α', b: '2' });
    expect(textHeaders(undefined)).toEqual({});
  });
});

describe('readPriorFailure', () => {
  it('reads back what a failure wrote', () => {
    const headers = buildFailureHeaders({ ...failure, retryAt: 99 });
    const asBuffers = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Buffer.from(value)]));
    expect(readPriorFailure(asBuffers)).toEqual({ attempt: 2, retryAt: 99, source: failure.source });
  });

  it('returns undefined for a fresh or tampered record', () => {
    expect(readPriorFailure({})).toBeUndefined();
    expect(readPriorFailure({ ...buildFailureHeaders(failure), 'msgxc-attempt': 'two' })).toBeUndefined();
  });
});
