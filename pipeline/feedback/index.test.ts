import { describe, expect, it } from 'vitest';
import { callbackSubject, statusCallbackUrl, unsubscribeUrl, verifyUnsubscribe } from './index.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hmac';

describe('unsubscribe links', () => {
  it('verify with the key they were signed with', () => {
    const url = new URL(unsubscribeUrl('https://x.test', secret, { uid: 'alice', tid: 't1' }));
    expect(url.pathname).toBe('/api/v1/list-unsubscribe');
    expect(verifyUnsubscribe(secret, url.searchParams)).toEqual({ uid: 'alice', tid: 't1' });
    const everything = new URL(unsubscribeUrl('https://x.test', secret, { uid: 'alice', tid: null }));
    expect(verifyUnsubscribe(secret, everything.searchParams)).toEqual({ uid: 'alice', tid: null });
  });

  it('reject another key, another user or thread, and a missing signature', () => {
    const url = new URL(unsubscribeUrl('https://x.test', secret, { uid: 'alice', tid: 't1' }));
    expect(verifyUnsubscribe(`${secret}!`, url.searchParams)).toBeNull();
    const otherUser = new URLSearchParams(url.searchParams);
    otherUser.set('u', 'bob');
    expect(verifyUnsubscribe(secret, otherUser)).toBeNull();
    const otherThread = new URLSearchParams(url.searchParams);
    otherThread.delete('t');
    expect(verifyUnsubscribe(secret, otherThread)).toBeNull();
    const unsigned = new URLSearchParams(url.searchParams);
    unsigned.delete('s');
    expect(verifyUnsubscribe(secret, unsigned)).toBeNull();
  });
});

describe('status callback URLs', () => {
  it('carry the delivery they are about', () => {
    const subject = { deliveryId: 'd1', messageId: 'm1', uid: 'alice', deviceId: 'dev' };
    const url = new URL(statusCallbackUrl('https://x.test', subject));
    expect(callbackSubject(url.searchParams)).toEqual(subject);
    url.searchParams.delete('v');
    expect(callbackSubject(url.searchParams)).toBeNull();
  });
});
