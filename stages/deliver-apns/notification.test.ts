import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../pipeline/delivery/contract.ts';
import { buildDeliveryBatch, type DeliveryBatch } from '../../schemas/types.generated.ts';
import { outcomeOf } from './adapter.ts';
import { apnsIdOf, apnsRequestFor, collapseIdOf } from './notification.ts';

const message = (fields: Partial<DeliveryBatch>, text: string | null = 'hi'): OutgoingMessage => {
  const batch = buildDeliveryBatch({
    batchId: 'b',
    channel: 'apns',
    messageId: 'm',
    urgency: 3,
    recipients: [],
    sender: { kind: 'service', id: 't' } as DeliveryBatch['sender'],
    createdAt: 0,
    batchedAt: 0,
    ...fields,
  });
  const recipient = { deliveryId: 'm:u:d', uid: 'u', device: null, variant: null, locale: null };
  return { batch, recipient, subject: null, text, attempt: 0 };
};

describe('APNs requests', () => {
  it('priority 10 for urgency 3-4, 5 for 1-2 and for background pushes', () => {
    expect(apnsRequestFor(message({ urgency: 4 }), 't').headers['apns-priority']).toBe(10);
    expect(apnsRequestFor(message({ urgency: 3 }), 't').headers['apns-priority']).toBe(10);
    expect(apnsRequestFor(message({ urgency: 2 }), 't').headers['apns-priority']).toBe(5);
    const background = apnsRequestFor(message({ urgency: 4 }, null), 't');
    expect(background.headers).toMatchObject({ 'apns-priority': 5, 'apns-push-type': 'background' });
  });

  it('expiration in seconds from the expiry; none without one', () => {
    expect(apnsRequestFor(message({ expiresAt: 1_700_000_000_999 }), 't').headers['apns-expiration']).toBe(
      1_700_000_000,
    );
    expect(apnsRequestFor(message({}), 't').headers['apns-expiration']).toBeUndefined();
  });

  it('a collapse id never exceeds 64 bytes; apns-id is a stable UUID of the delivery id', () => {
    expect(collapseIdOf('short')).toBe('short');
    expect(Buffer.byteLength(collapseIdOf('é'.repeat(40))!)).toBe(64);
    expect(apnsIdOf('m:u:d')).toBe(apnsIdOf('m:u:d'));
    expect(apnsIdOf('m:u:d')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('maps APNs answers onto outcomes', () => {
    expect(
      outcomeOf('d', { status: 410, response: { reason: 'Unregistered', timestamp: 5 } }, undefined),
    ).toMatchObject({
      status: 'rejected',
      prune: true,
      invalidSince: 5,
    });
    expect(outcomeOf('d', { status: 400, response: { reason: 'BadDeviceToken' } }, undefined)).toMatchObject({
      prune: true,
    });
    expect(outcomeOf('d', { status: 400, response: { reason: 'BadPriority' } }, undefined).prune).toBeUndefined();
    expect(outcomeOf('d', { status: 429, response: { reason: 'TooManyRequests' } }, 3_000)).toMatchObject({
      status: 'throttled',
      retryAfterMs: 3_000,
    });
    expect(outcomeOf('d', { status: 503 }, undefined)).toMatchObject({ status: 'failed', providerCode: '503' });
    expect(outcomeOf('d', { error: new Error('apn write timeout') }, undefined)).toMatchObject({
      providerCode: 'TIMEOUT',
    });
  });
});
