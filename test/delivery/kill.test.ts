import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../bench/harness/api.ts';
import type { MsgxcProcess } from '../../bench/harness/processes.ts';
import { createSystem, prepare, type System } from '../../bench/harness/system.ts';
import { readAll } from '../../bench/harness/topics.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import { buildDeliveryBatch, type DeliveryBatch, type DeliveryEvent } from '../../schemas/types.generated.ts';
import { type Providers, startDelivery, startProviders } from './support.ts';

/**
 * SIGKILL of the delivery stages' process in the middle of a broadcast's FCM batches, then a restart: every
 * recipient still gets the message (at-least-once), and the repeats the crash causes are counted and reported.
 */
let providers: Providers;
let system: System;
let delivery: MsgxcProcess | undefined;

beforeAll(async () => {
  providers = await startProviders();
  // A modest rate keeps the broadcast in flight long enough to kill the process in the middle of it.
  system = await createSystem({ ...providers.env, MSGXC_FCM_RATE: '800' });
  await prepare(system);
}, 300_000);

afterAll(async () => {
  await delivery?.stop();
  await system?.teardown();
  await providers?.close();
}, 120_000);

function broadcastBatches(messageId: string, batches: number, size: number): DeliveryBatch[] {
  return Array.from({ length: batches }, (_, batch) =>
    buildDeliveryBatch({
      batchId: `${messageId}:fcm:${batch}`,
      channel: 'fcm',
      messageId,
      urgency: 3,
      subject: 'Broadcast',
      msg: 'to everyone',
      recipients: Array.from({ length: size }, (_, index) => {
        const uid = `user-${batch}-${index}`;
        const token = `kill-token-${batch}-${index}-abcdef`;
        return {
          deliveryId: `${messageId}:${uid}:${token}`,
          uid,
          device: { channel: 'fcm', id: token, token, subscription: null, address: null, platform: 'android' },
          variant: null,
          locale: null,
        };
      }),
      sender: { kind: 'service', id: 'kill-test' } as DeliveryBatch['sender'],
      createdAt: Date.now(),
      batchedAt: Date.now(),
    }),
  );
}

describe('kill -9 of a delivery stage mid-batch', () => {
  it('every recipient gets the message after the restart; duplicates are counted', async () => {
    delivery = await startDelivery(system, 1);
    const messageId = randomUUID();
    const batches = broadcastBatches(messageId, 12, 250);
    const total = batches.length * 250;
    const serde = createSerde(system.config);
    const producer = createKafka(system.config, createLogger(system.config, 'kill-test')).producer(producerConfig);
    await producer.connect();
    await producer.send({
      topic: topicName(system.config, 'deliver.fcm'),
      acks: -1,
      messages: await Promise.all(
        batches.map(async (batch) => ({ key: batch.batchId, value: await serde.encode('deliver.fcm', batch) })),
      ),
    });
    await producer.disconnect();
    const mine = () => providers.fcm.received.filter((item) => item.target.startsWith('kill-token-'));

    await eventually(
      'part of the broadcast to reach FCM',
      async () => (mine().length >= total / 4 ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 50,
      },
    );
    await delivery.kill();
    const atKill = mine().length;
    expect(atKill).toBeLessThan(total);

    delivery = await startDelivery(system, 2);
    await eventually(
      'every recipient to receive the broadcast',
      async () => (new Set(mine().map((item) => item.target)).size === total ? true : undefined),
      { timeoutMs: 180_000 },
    );
    const received = mine();
    const duplicates = received.length - total;
    console.info(
      `kill -9 at ${atKill}/${total} sent: ${total} recipients reached, ${duplicates} duplicate requests after the restart`,
    );
    expect(duplicates).toBeGreaterThanOrEqual(0);

    const sent = await eventually('a sent event for every recipient', async () => {
      const events = (await readAll<DeliveryEvent>(system.config, 'events'))
        .map((record) => record.value)
        .filter((event) => event.messageId === messageId && event.type === 'sent');
      const ids = new Set(events.map((event) => event.deliveryId));
      return ids.size === total ? events : undefined;
    });
    // Repeats carry the same event id, so a sink that writes by event id keeps one per recipient.
    expect(new Set(sent.map((event) => event.eventId)).size).toBe(total);
  }, 600_000);
});
