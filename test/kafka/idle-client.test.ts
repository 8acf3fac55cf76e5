import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { createKafka } from '../../pipeline/kafka/index.ts';
import { stopIdleRequestQueuePolling } from '../../pipeline/kafka/request-queue.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { kafkaTopicName } from '../../pipeline/runtime/names.ts';
import { createTopics, deleteTestTopics, testConfig, topicSize } from '../runtime/support.ts';

/**
 * kafkajs 2.2.4 re-arms a 1 ms timer per broker connection forever once a response has come back
 * (pipeline/kafka/request-queue.ts). On the real broker: a connected, idle client arms no timer, and requests
 * that have to wait in the queue (the in-flight limit) still all go out.
 */

let config: Config;

beforeAll(async () => {
  config = testConfig();
  await createTopics(config, { 'idle-check': 1 });
});

afterAll(async () => {
  if (config) await deleteTestTopics(config);
});

describe('an idle kafkajs client', () => {
  it('arms no timer while nothing waits in its request queue', async () => {
    // The installed kafkajs is the one the fix knows (an upgrade that reshaped it would skip it silently).
    expect(stopIdleRequestQueuePolling()).toBe(true);
    const kafka = createKafka(config, createLogger({ ...config, logLevel: 'warn' }, 'idle-check'));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.listTopics();
      await sleep(50);
      // node:timers/promises does not go through the global setTimeout, kafkajs's timers do.
      const armed = vi.spyOn(globalThis, 'setTimeout');
      await sleep(500);
      const calls = armed.mock.calls.length;
      armed.mockRestore();
      // Unfixed, about 500 here (one a millisecond).
      expect(calls).toBeLessThan(10);
      expect(await admin.listTopics()).toContain(kafkaTopicName(config, 'idle-check'));
    } finally {
      await admin.disconnect();
    }
  });

  it('still sends every request that waited on the in-flight limit', async () => {
    const kafka = createKafka(config, createLogger({ ...config, logLevel: 'warn' }, 'idle-check'));
    const producer = kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const topic = kafkaTopicName(config, 'idle-check');
      await Promise.all(
        Array.from({ length: 20 }, (_, n) => producer.send({ topic, messages: [{ key: `k${n}`, value: `v${n}` }] })),
      );
      expect(await topicSize(config, 'idle-check')).toBe(20);
    } finally {
      await producer.disconnect();
    }
  });
});
