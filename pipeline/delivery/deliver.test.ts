import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildDeliveryBatch, type DeliveryBatch, type DeliveryEvent } from '../../schemas/types.generated.ts';
import { createDeviceSecrets } from '../audience-index/device-secrets.ts';
import { parseConfig } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import type { InputRecord, OutputRecord } from '../runtime/types.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from './contract.ts';
import { type DeliveryContext, deliverRecord } from './deliver.ts';
import { createRoute } from './failover.ts';
import { deliveryMetrics } from './metrics.ts';
import { ProviderPolicy } from './provider-policy.ts';
import type { Pruner } from './pruning.ts';
import { deliveryAttemptHeader, type ParkedBatch, type RetryQueue } from './retry-queue.ts';

/** A provider that answers from a script: per call, a function of the messages. */
function scriptedProvider(provider: string, answer: (messages: OutgoingMessage[], call: number) => Outcome[]) {
  const calls: { at: number; ids: string[] }[] = [];
  const adapter: ProviderAdapter = {
    provider,
    channel: 'apns',
    maxBatch: 100,
    async send(messages) {
      calls.push({ at: Date.now(), ids: messages.map((message) => message.recipient.deliveryId) });
      return answer(messages, calls.length);
    },
    close: async () => undefined,
  };
  return { adapter, calls };
}

const every =
  (status: Outcome['status'], extra: Partial<Outcome> = {}) =>
  (messages: OutgoingMessage[]) =>
    messages.map((message) => ({ deliveryId: message.recipient.deliveryId, status, ...extra }));

function batchOf(count: number, fields: Partial<DeliveryBatch> = {}): DeliveryBatch {
  return buildDeliveryBatch({
    batchId: 'b1',
    channel: 'apns',
    messageId: 'm1',
    urgency: 3,
    msg: 'hello',
    recipients: Array.from({ length: count }, (_, index) => ({
      deliveryId: `d${index}`,
      uid: `u${index}`,
      device: {
        channel: 'apns',
        id: `dev${index}`,
        token: `t${index}`,
        subscription: null,
        address: null,
        platform: null,
      },
      variant: null,
      locale: null,
    })),
    sender: { kind: 'service', id: 'test' } as DeliveryBatch['sender'],
    createdAt: Date.now(),
    batchedAt: Date.now(),
    ...fields,
  });
}

function recordOf(batch: DeliveryBatch, attempt = 0): InputRecord<DeliveryBatch> {
  return {
    topic: 'deliver.apns',
    partition: 0,
    offset: '7',
    key: batch.batchId,
    value: batch,
    headers: attempt > 0 ? { [deliveryAttemptHeader]: String(attempt) } : {},
    timestamp: Date.now(),
  };
}

function contextWith(adapters: ProviderAdapter[], overrides: Partial<DeliveryContext['policy']> = {}) {
  const config = parseConfig({ MSGXC_LOG_LEVEL: 'silent' });
  const parked: ParkedBatch[] = [];
  const pruned: { deviceId: string; invalidSince: number | undefined }[] = [];
  const retry: RetryQueue = {
    async park(records) {
      parked.push(...records);
    },
    close: async () => undefined,
  };
  const pruner: Pruner = {
    async prune(_channel, recipient, _reason, invalidSince) {
      pruned.push({ deviceId: recipient.device!.id, invalidSince });
      return { topic: 'audience', key: recipient.uid, value: { removed: recipient.device!.id } };
    },
  };
  const policy = { ...config.delivery.policy, maxWaitMs: 200, breakerFailures: 2, ...overrides };
  const metrics = deliveryMetrics(new Registry());
  const route = createRoute(
    adapters.map(
      (adapter) =>
        new ProviderPolicy(
          adapter,
          { perSecond: 1_000, breakerFailures: policy.breakerFailures, breakerCooldownMs: 60_000, timeoutMs: 1_000 },
          metrics,
        ),
    ),
  );
  const context: DeliveryContext = {
    stage: 'deliver.apns',
    channel: 'apns',
    route,
    disabledReason: 'test',
    policy,
    pruner,
    retry,
    metrics,
    log: createLogger(config, 'test'),
    secrets: createDeviceSecrets(config.devices.keys),
  };
  return { context, parked, pruned };
}

const eventsIn = (outputs: OutputRecord[]) =>
  outputs.filter((output) => output.topic === 'events').map((output) => output.value as DeliveryEvent);

describe('deliverRecord', () => {
  it('records one sent event per recipient with provider, latency and the provider id', async () => {
    const provider = scriptedProvider('apns', (messages) =>
      messages.map((m) => ({
        deliveryId: m.recipient.deliveryId,
        status: 'sent',
        providerCode: '200',
        providerMessageId: `x-${m.recipient.deliveryId}`,
      })),
    );
    const { context, parked } = contextWith([provider.adapter]);
    const events = eventsIn(await deliverRecord(recordOf(batchOf(3)), context, new AbortController().signal));
    expect(events.map((event) => [event.type, event.deliveryId, event.provider, event.providerCode])).toEqual([
      ['sent', 'd0', 'apns', '200'],
      ['sent', 'd1', 'apns', '200'],
      ['sent', 'd2', 'apns', '200'],
    ]);
    expect(
      events.every((event) => event.latencyMs !== null && event.messageId === 'm1' && event.channel === 'apns'),
    ).toBe(true);
    expect(events[0]!.providerMessageId).toBe('x-d0');
    expect(parked).toEqual([]);
  });

  it('parks only the transiently failed recipients, one attempt later, after a back-off', async () => {
    const provider = scriptedProvider('apns', (messages) =>
      messages.map((m, index) => ({
        deliveryId: m.recipient.deliveryId,
        status: index === 1 ? 'failed' : 'sent',
        providerCode: index === 1 ? '503' : '200',
      })),
    );
    const { context, parked } = contextWith([provider.adapter]);
    const before = Date.now();
    const events = eventsIn(await deliverRecord(recordOf(batchOf(3), 2), context, new AbortController().signal));
    expect(events.map((event) => event.type)).toEqual(['sent', 'failed', 'sent']);
    expect(parked).toHaveLength(1);
    expect(parked[0]!.batch.recipients.map((r) => r.deliveryId)).toEqual(['d1']);
    expect(parked[0]!.attempt).toBe(3);
    expect(parked[0]!.retryAt).toBeGreaterThanOrEqual(before + context.policy.retryBaseMs * 2);
    expect(parked[0]!.source.offset).toBe('7');
  });

  it('gives up with a failed event once the attempts are spent, never parks again', async () => {
    const provider = scriptedProvider('apns', every('failed', { providerCode: '500' }));
    const { context, parked } = contextWith([provider.adapter], { maxAttempts: 3 });
    const events = eventsIn(await deliverRecord(recordOf(batchOf(1), 2), context, new AbortController().signal));
    expect(events.map((event) => [event.type, event.reason])).toEqual([
      ['failed', 'PROVIDER_FAILED'],
      ['failed', 'RETRIES_EXHAUSTED'],
    ]);
    expect(parked).toEqual([]);
  });

  it('a rejection is an event and never a retry; a prune removes the device with the provider time', async () => {
    const provider = scriptedProvider(
      'apns',
      every('rejected', { providerCode: 'Unregistered', prune: true, invalidSince: 42 }),
    );
    const { context, parked, pruned } = contextWith([provider.adapter]);
    const outputs = await deliverRecord(recordOf(batchOf(2)), context, new AbortController().signal);
    expect(eventsIn(outputs).map((event) => [event.type, event.reason])).toEqual([
      ['rejected', 'TOKEN_INVALID'],
      ['rejected', 'TOKEN_INVALID'],
    ]);
    expect(outputs.filter((output) => output.topic === 'audience')).toHaveLength(2);
    expect(pruned).toEqual([
      { deviceId: 'dev0', invalidSince: 42 },
      { deviceId: 'dev1', invalidSince: 42 },
    ]);
    expect(parked).toEqual([]);
  });

  it('a short Retry-After is waited out in the handler: the next request comes no earlier', async () => {
    const provider = scriptedProvider('apns', (messages, call) =>
      call === 1 ? every('throttled', { providerCode: '429', retryAfterMs: 100 })(messages) : every('sent')(messages),
    );
    const { context, parked } = contextWith([provider.adapter]);
    const events = eventsIn(await deliverRecord(recordOf(batchOf(2)), context, new AbortController().signal));
    expect(events.map((event) => event.type)).toEqual(['throttled', 'throttled', 'sent', 'sent']);
    expect(provider.calls[1]!.at - provider.calls[0]!.at).toBeGreaterThanOrEqual(100);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(4);
    expect(parked).toEqual([]);
  });

  it('a long Retry-After parks the recipients at that time without counting an attempt', async () => {
    const provider = scriptedProvider('apns', every('throttled', { providerCode: '429', retryAfterMs: 60_000 }));
    const { context, parked } = contextWith([provider.adapter]);
    const before = Date.now();
    await deliverRecord(recordOf(batchOf(2), 1), context, new AbortController().signal);
    expect(provider.calls).toHaveLength(1);
    expect(parked).toHaveLength(1);
    expect(parked[0]!.attempt).toBe(1);
    expect(parked[0]!.retryAt).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('an open breaker makes later records wait (parked, not failed), and the secondary takes over', async () => {
    const primary = scriptedProvider('twilio', every('failed', { providerCode: '503' }));
    const { context, parked } = contextWith([primary.adapter]);
    await deliverRecord(recordOf(batchOf(1)), context, new AbortController().signal);
    await deliverRecord(recordOf(batchOf(1)), context, new AbortController().signal);
    expect(context.route!.providers[0]!.breaker.state).toBe('open');
    parked.length = 0;
    const events = eventsIn(await deliverRecord(recordOf(batchOf(1)), context, new AbortController().signal));
    expect(events).toEqual([]);
    expect(parked[0]!.code).toBe('BREAKER_OPEN');
    expect(parked[0]!.attempt).toBe(0);
    expect(primary.calls).toHaveLength(2);

    const secondary = scriptedProvider('sns', every('sent'));
    const failover = contextWith([
      scriptedProvider('twilio', every('failed', { providerCode: '503' })).adapter,
      secondary.adapter,
    ]);
    const outcome = eventsIn(await deliverRecord(recordOf(batchOf(1)), failover.context, new AbortController().signal));
    expect(outcome.map((event) => [event.provider, event.type])).toEqual([
      ['twilio', 'failed'],
      ['sns', 'sent'],
    ]);
    expect(failover.parked).toEqual([]);
  });

  it('a disabled channel turns every recipient into a skipped event', async () => {
    const { context } = contextWith([scriptedProvider('apns', every('sent')).adapter]);
    const events = eventsIn(
      await deliverRecord(
        recordOf(batchOf(2)),
        { ...context, route: null, disabledReason: 'no key' },
        new AbortController().signal,
      ),
    );
    expect(events.map((event) => [event.type, event.reason, event.detail])).toEqual([
      ['skipped', 'CHANNEL_DISABLED', 'no key'],
      ['skipped', 'CHANNEL_DISABLED', 'no key'],
    ]);
  });

  it('an expired message is not sent', async () => {
    const provider = scriptedProvider('apns', every('sent'));
    const { context } = contextWith([provider.adapter]);
    const events = eventsIn(
      await deliverRecord(recordOf(batchOf(1, { expiresAt: Date.now() - 1 })), context, new AbortController().signal),
    );
    expect(events.map((event) => event.type)).toEqual(['expired']);
    expect(provider.calls).toEqual([]);
  });

  it('opens sealed devices just before sending; a parked retry carries them still sealed', async () => {
    const seen: (string | null | undefined)[] = [];
    const provider = scriptedProvider('apns', (messages) => {
      seen.push(...messages.map((message) => message.recipient.device?.token));
      return messages.map((m, index) => ({
        deliveryId: m.recipient.deliveryId,
        status: index === 0 ? 'failed' : 'sent',
      }));
    });
    const { context, parked } = contextWith([provider.adapter]);
    const batch = batchOf(2);
    const sealed = batch.recipients.map((recipient) => ({
      ...recipient,
      device: context.secrets.seal(recipient.uid, recipient.device!),
    }));
    expect(sealed[0]!.device.token).toMatch(/^enc1\./);
    const events = eventsIn(
      await deliverRecord(recordOf({ ...batch, recipients: sealed }), context, new AbortController().signal),
    );
    expect(seen).toEqual(['t0', 't1']);
    expect(events.map((event) => event.type)).toEqual(['failed', 'sent']);
    expect(parked[0]!.batch.recipients[0]!.device).toEqual(sealed[0]!.device);
  });

  it('rejects a device whose secret does not open (another key, or moved to another user) without sending', async () => {
    const provider = scriptedProvider('apns', every('sent'));
    const { context, parked } = contextWith([provider.adapter]);
    const foreign = createDeviceSecrets([{ id: 'dev', key: Buffer.alloc(32, 7) }]);
    const batch = batchOf(2);
    const recipients = [
      { ...batch.recipients[0]!, device: foreign.seal('u0', batch.recipients[0]!.device!) },
      { ...batch.recipients[1]!, device: context.secrets.seal('someone-else', batch.recipients[1]!.device!) },
    ];
    const events = eventsIn(
      await deliverRecord(recordOf({ ...batch, recipients }), context, new AbortController().signal),
    );
    expect(events.map((event) => [event.type, event.reason])).toEqual([
      ['rejected', 'DEVICE_UNREADABLE'],
      ['rejected', 'DEVICE_UNREADABLE'],
    ]);
    expect(provider.calls).toEqual([]);
    expect(parked).toEqual([]);
  });
});
