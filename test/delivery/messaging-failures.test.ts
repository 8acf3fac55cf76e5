import { describe, expect, it } from 'vitest';
import { isProviderFault } from '../../pipeline/delivery/index.ts';
import { smtpFailure } from '../../stages/deliver-email/smtp.ts';
import { retryAfterMs, twilioFailure } from '../../stages/deliver-sms/twilio.ts';

describe('provider errors as outcomes', () => {
  it('Twilio: 20429 throttled, 21610 suppresses, 5xx and socket errors are provider faults', () => {
    expect(twilioFailure({ status: 429, code: 20429 }, '3')).toMatchObject({ status: 'throttled', retryAfterMs: 3000 });
    expect(twilioFailure({ status: 400, code: 21610 })).toMatchObject({
      status: 'rejected',
      suppress: true,
      prune: true,
    });
    expect(twilioFailure({ status: 400, code: 21211 })).toMatchObject({ status: 'rejected', prune: true });
    expect(twilioFailure({ status: 400, code: 21602 })).toEqual({
      status: 'rejected',
      providerCode: '21602',
      detail: undefined,
    });
    expect(isProviderFault({ deliveryId: 'd', ...twilioFailure({ status: 503, code: 20503 }) })).toBe(true);
    expect(isProviderFault({ deliveryId: 'd', ...twilioFailure({ code: 'ECONNREFUSED' }) })).toBe(true);
    expect(twilioFailure({ status: 401, code: 20003 }).status).toBe('failed');
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('SMTP: 5.1.1 suppresses, other 5xx reject, 4.7.x throttles, other 4xx are transient', () => {
    expect(smtpFailure({ responseCode: 550, response: '550 5.1.1 No such user' })).toMatchObject({
      status: 'rejected',
      suppress: true,
    });
    expect(smtpFailure({ responseCode: 554, response: '554 5.7.1 Spam' })).toEqual({
      status: 'rejected',
      providerCode: '554',
      detail: '554 5.7.1 Spam',
    });
    expect(smtpFailure({ responseCode: 451, response: '451 4.7.1 Slow down' })).toMatchObject({ status: 'throttled' });
    expect(smtpFailure({ responseCode: 452, response: '452 4.3.1 Insufficient storage' })).toMatchObject({
      status: 'failed',
    });
    expect(smtpFailure({ code: 'ETIMEDOUT' })).toMatchObject({ status: 'failed', providerCode: 'ETIMEDOUT' });
  });
});
