import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { FeedConsumer } from './feed-consumer.ts';

const config = parseConfig({ MSGXC_LOG_LEVEL: 'silent' });
const events = { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join', FETCH: 'consumer.fetch' };

/** What kafkajs reports when a broker restart leaves the group without a coordinator (tulios/kafkajs#1630). */
function coordinatorNotFound(): Error {
  const cause = Object.assign(new Error('Failed to find group coordinator'), {
    name: 'KafkaJSGroupCoordinatorNotFound',
    retriable: false,
  });
  return Object.assign(new Error('Failed to find group coordinator', { cause }), {
    name: 'KafkaJSNonRetriableError',
    retriable: false,
  });
}

/** kafkajs's consumer surface the feed uses; each call is recorded so a test sees the order of events. */
class FakeConsumer {
  readonly events = events;
  private readonly emitter = new EventEmitter();
  readonly calls: string[] = [];
  connectError: Error | undefined;
  /** As kafkajs's: returns a function that removes the listener. */
  on(event: string, listener: (...args: unknown[]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }
  emit(event: string, payload: unknown) {
    this.emitter.emit(event, payload);
  }
  listenerCount(event: string) {
    return this.emitter.listenerCount(event);
  }
  async connect() {
    this.calls.push('connect');
    if (this.connectError) throw this.connectError;
  }
  async subscribe() {
    this.calls.push('subscribe');
  }
  async run() {
    this.calls.push('run');
  }
  async disconnect() {
    this.calls.push('disconnect');
  }
  crash(error: Error, restart = false) {
    this.emit(events.CRASH, { payload: { error, restart } });
  }
}

function feedOn(prepare: (consumer: FakeConsumer, index: number) => void = () => undefined, fromBeginning = true) {
  const consumers: FakeConsumer[] = [];
  const kafka = {
    consumer: () => {
      const consumer = new FakeConsumer();
      prepare(consumer, consumers.length);
      consumers.push(consumer);
      return consumer;
    },
  } as unknown as Kafka;
  const onRejoin = vi.fn();
  const onFatal = vi.fn();
  const feed = new FeedConsumer({
    kafka,
    groupId: 'group',
    topics: ['topic'],
    fromBeginning,
    tuning: config.runtime.consumer,
    commitIntervalMs: config.runtime.commitIntervalMs,
    eachBatch: async () => undefined,
    log: createLogger(config, 'test'),
    onRejoin,
    onFatal,
    rejoinDelayMs: () => 5,
  });
  return { feed, consumers, onRejoin, onFatal };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('FeedConsumer', () => {
  it('joins again with a fresh consumer after a crash kafkajs will not restart because the cluster was away', async () => {
    const { feed, consumers, onRejoin, onFatal } = feedOn();
    await feed.start();
    consumers[0]!.crash(coordinatorNotFound());
    await settle();
    expect(consumers).toHaveLength(2);
    expect(consumers[1]!.calls).toEqual(['connect', 'subscribe', 'run']);
    expect(onRejoin).toHaveBeenCalledTimes(1);
    expect(onFatal).not.toHaveBeenCalled();
    await feed.stop();
    expect(consumers[1]!.calls.at(-1)).toBe('disconnect');
  });

  it('keeps trying while the cluster stays away, and hands any other failure to onFatal', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    const { feed, consumers, onRejoin, onFatal } = feedOn((consumer, index) => {
      if (index === 1 || index === 2) consumer.connectError = refused;
    });
    await feed.start();
    consumers[0]!.crash(coordinatorNotFound());
    await settle();
    await settle();
    expect(consumers.length).toBe(4);
    expect(consumers[3]!.calls).toEqual(['connect', 'subscribe', 'run']);
    expect(onRejoin).toHaveBeenCalledTimes(3);
    consumers[3]!.crash(Object.assign(new Error('not authorised'), { type: 'GROUP_AUTHORIZATION_FAILED' }));
    await settle();
    expect(onFatal).toHaveBeenCalledTimes(1);
    expect(consumers).toHaveLength(4);
    await feed.stop();
  });

  it('leaves the restarts kafkajs does itself alone, and ignores crashes of a consumer it replaced', async () => {
    const { feed, consumers, onFatal } = feedOn();
    await feed.start();
    consumers[0]!.crash(new Error('coordinator loading'), true);
    await settle();
    expect(consumers).toHaveLength(1);
    consumers[0]!.crash(coordinatorNotFound());
    await settle();
    consumers[0]!.crash(new Error('late crash of the old consumer'));
    await settle();
    expect(consumers).toHaveLength(2);
    expect(onFatal).not.toHaveBeenCalled();
    await feed.stop();
  });

  it('does not join again once stopped', async () => {
    const { feed, consumers } = feedOn();
    await feed.start();
    await feed.stop();
    consumers[0]!.crash(coordinatorNotFound());
    await settle();
    expect(consumers).toHaveLength(1);
  });

  it('starting at the latest offset, resolves start only after the first fetch that follows a join', async () => {
    const { feed, consumers } = feedOn(undefined, false);
    let started = false;
    const start = feed.start().then(() => {
      started = true;
    });
    await settle();
    const consumer = consumers[0]!;
    consumer.emit(events.FETCH, { payload: {} });
    await settle();
    expect(started).toBe(false);
    consumer.emit(events.GROUP_JOIN, { payload: { memberAssignment: { topic: [0] } } });
    await settle();
    expect(started).toBe(false);
    consumer.emit(events.FETCH, { payload: {} });
    await start;
    expect(started).toBe(true);
    expect(consumer.listenerCount(events.FETCH)).toBe(0);
    await feed.stop();
  });

  it('ends the wait for a first position when stopped', async () => {
    const { feed } = feedOn(undefined, false);
    const start = feed.start();
    await settle();
    await feed.stop();
    await expect(start).resolves.toBeUndefined();
  });
});
