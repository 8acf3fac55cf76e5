import { describe, expect, it } from 'vitest';
import { outcomeOf, quotaBackoffMs } from './sender.ts';

const error = (status: number, rpc: string, code?: string) =>
  JSON.stringify({
    error: {
      code: status,
      status: rpc,
      message: rpc,
      details: code ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: code }] : [],
    },
  });

describe('FCM answers', () => {
  it('maps FCM v1 error codes onto outcomes', () => {
    expect(outcomeOf('d', 200, '{"name":"projects/p/messages/1"}')).toMatchObject({
      status: 'sent',
      providerMessageId: 'projects/p/messages/1',
    });
    expect(outcomeOf('d', 404, error(404, 'NOT_FOUND', 'UNREGISTERED'))).toMatchObject({
      status: 'rejected',
      prune: true,
    });
    expect(outcomeOf('d', 400, error(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'))).toMatchObject({
      status: 'rejected',
    });
    expect(outcomeOf('d', 429, error(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'), '5').retryAfterMs).toBe(
      quotaBackoffMs,
    );
    expect(outcomeOf('d', 429, error(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'), '120').retryAfterMs).toBe(120_000);
    expect(outcomeOf('d', 503, error(503, 'UNAVAILABLE', 'UNAVAILABLE'))).toMatchObject({
      status: 'failed',
      providerCode: '503',
    });
    expect(outcomeOf('d', 502, 'bad gateway')).toMatchObject({ status: 'failed', providerCode: '502' });
  });
});
