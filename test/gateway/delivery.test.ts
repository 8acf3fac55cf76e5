import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from 'cassandra-driver';
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wsBatch } from '../../bench/harness/batches.ts';
import { createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { type RunningStages, runStages } from '../../pipeline/runtime/index.ts';
import { createSerde, registerSchemas, type Serde } from '../../pipeline/serde/index.ts';
import { createThreadStore } from '../../pipeline/store/index.ts';
import { ensureTopics, topicName } from '../../pipeline/topics/index.ts';
import type { Acknowledgement, CheckIn, DeliveryBatch, DeliveryEvent } from '../../schemas/types.generated.ts';
import { createGatewayStage, type Gateway } from '../../stages/gateway/index.ts';
import { eventually, open, signToken, type TestClient, testConfig } from '../support/gateway.ts';

/**
 * Two gateway instances in one process, each a `gateway` stage with its own per-instance consumer group
 * on a deliver.ws topic of this test's own: a batch produced once reaches the right sockets on both.
 */

const suffix = randomBytes(4).toString('hex');
const config = testConfig({
  MSGXC_TOPIC_PREFIX: `test-gw-${suffix}.`,
  MSGXC_CASSANDRA_KEYSPACE: `msgxc_test_gw_${suffix}`,
  MSGXC_LOG_LEVEL: 'warn',
});
const topics = ['deliver.ws', 'deliver.ws.urgent', 'events', 'acks', 'checkins'];

interface Instance {
  gateway: Gateway;
  running: RunningStages;
}

/** A gateway stage as `msgxc run gateway` runs it (thread permissions from Cassandra), on an ephemeral port. */
async function startInstance(): Promise<Instance> {
  let gateway: Gateway | undefined;
  const running = await runStages(config, [
    createGatewayStage({
      port: 0,
      onListening: (listening) => {
        gateway = listening;
      },
    }),
  ]);
  if (!gateway) throw new Error('gateway did not start');
  return { gateway, running };
}

/** Collects the decoded values of a topic, from its beginning. */
async function collect<T>(kafkaConsumer: Consumer, serde: Serde, logical: string, into: T[]): Promise<void> {
  await kafkaConsumer.subscribe({ topics: [topicName(config, logical)], fromBeginning: true });
  await kafkaConsumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) into.push((await serde.decode(message.value)) as T);
    },
  });
}

describe('gateway stage across two instances', () => {
  const kafka = createKafka(config);
  const serde = createSerde(config);
  let cassandra: Client;
  let subjects: string[] = [];
  const events: DeliveryEvent[] = [];
  const acks: Acknowledgement[] = [];
  const checkIns: CheckIn[] = [];
  let producer: Producer;
  let observers: Consumer[] = [];
  let first: Instance;
  let second: Instance;

  const produce = async (batch: DeliveryBatch, topic: 'deliver.ws' | 'deliver.ws.urgent' = 'deliver.ws') => {
    await producer.send({
      topic: topicName(config, topic),
      messages: [{ key: batch.batchId, value: await serde.encode(topic, batch) }],
    });
  };

  beforeAll(async () => {
    await ensureTopics(config, topics);
    // Registered up front, as a deployment does, rather than by the first records of two instances at once.
    subjects = [...(await registerSchemas(config)).keys()];
    producer = kafka.producer(producerConfig);
    await producer.connect();
    observers = ['events', 'acks', 'checkins'].map(() =>
      kafka.consumer({ groupId: `test-gw-observer-${randomUUID()}` }),
    );
    await Promise.all(observers.map((observer) => observer.connect()));
    await collect(observers[0]!, serde, 'events', events);
    await collect(observers[1]!, serde, 'acks', acks);
    await collect(observers[2]!, serde, 'checkins', checkIns);
    await migrate(config, { log: createLogger(config, 'migrate') });
    cassandra = createCassandra(config);
    await cassandra.connect();
    first = await startInstance();
    second = await startInstance();
  });

  afterAll(async () => {
    await Promise.allSettled([first?.running.stop(), second?.running.stop()]);
    await Promise.allSettled(observers.map((observer) => observer.disconnect()));
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const created = (await admin.listTopics()).filter((topic) => topic.startsWith(`test-gw-${suffix}.`));
    await admin.deleteTopics({ topics: created });
    await admin.disconnect();
    await cassandra?.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`);
    await cassandra?.shutdown();
    for (const subject of subjects) {
      const url = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
      await fetch(url, { method: 'DELETE' });
      await fetch(`${url}?permanent=true`, { method: 'DELETE' });
    }
  });

  /**
   * A per-instance group starts at the latest offset once it has its partitions, which happens after
   * runStages resolves; until a probe comes through on both instances, a batch could precede that.
   */
  async function waitUntilBothConsume(): Promise<void> {
    const probes = await Promise.all(
      [first, second].map(async (instance) => open(instance.gateway.url, await signToken('probe'))),
    );
    for (const probe of probes) await probe.next('welcome');
    const received = (probe: TestClient) => probe.frames.some((frame) => frame.type === 'message');
    const deadline = Date.now() + 90_000;
    while (!probes.every(received)) {
      if (Date.now() > deadline) throw new Error('the gateways never consumed a probe batch');
      await produce(wsBatch([{ uid: 'probe' }]));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const probe of probes) probe.socket.close();
  }

  it('delivers a batch to the recipients connected to either instance, once per connection', async () => {
    await waitUntilBothConsume();
    const aliceOnFirst = await open(first.gateway.url, await signToken('alice'));
    const aliceOnSecond = await open(second.gateway.url, await signToken('alice'));
    const bobOnSecond = await open(second.gateway.url, await signToken('bob'));
    const carolOnFirst = await open(first.gateway.url, await signToken('carol'));
    const clients = [aliceOnFirst, aliceOnSecond, bobOnSecond, carolOnFirst];
    for (const client of clients) await client.next('welcome');

    const batch = wsBatch([{ uid: 'alice' }, { uid: 'bob' }, { uid: 'dave-offline' }], { tid: 'thread-1' });
    await produce(batch);

    for (const client of [aliceOnFirst, aliceOnSecond, bobOnSecond]) {
      expect(await client.next('message', 60_000)).toMatchObject({ id: batch.messageId, msg: 'hello', data: { k: 1 } });
    }
    // carol was not addressed: a ping answered after the deliveries shows nothing else is on its way.
    carolOnFirst.send({ type: 'ping' });
    await carolOnFirst.next('pong');
    expect(carolOnFirst.frames.filter((frame) => frame.type === 'message')).toEqual([]);

    await eventually(() => events.filter((event) => event.messageId === batch.messageId).length >= 3, 60_000);
    const sent = events.filter((event) => event.messageId === batch.messageId);
    // alice is connected to both instances, so both record her delivery, under the same event id.
    expect(sent.map((event) => event.uid).sort()).toEqual(['alice', 'alice', 'bob']);
    expect(new Set(sent.map((event) => event.eventId)).size).toBe(2);
    expect(sent.every((event) => event.type === 'sent' && event.channel === 'ws')).toBe(true);

    aliceOnSecond.send({ type: 'ack', messageId: batch.messageId, status: 'opened' });
    await eventually(() => acks.some((ack) => ack.messageId === batch.messageId), 60_000);
    expect(acks.find((ack) => ack.messageId === batch.messageId)).toMatchObject({
      type: 'opened',
      uid: 'alice',
      tid: 'thread-1',
      channel: 'ws',
      deliveryId: `${batch.messageId}:alice:ws`,
    });
    for (const client of clients) client.socket.close();
  });

  it('reads urgency 4’s own topic with a consumer of its own per instance, and delivers from it', async () => {
    await waitUntilBothConsume();
    const grace = await open(first.gateway.url, await signToken('grace'));
    await grace.next('welcome');
    const urgent = wsBatch([{ uid: 'grace' }], { urgency: 4 });
    // The urgent feed joins its own group beside the probed one: keep producing until it has its partitions.
    const deadline = Date.now() + 90_000;
    while (!grace.frames.some((frame) => frame.type === 'message' && frame.id === urgent.messageId)) {
      if (Date.now() > deadline) throw new Error('no urgent batch reached the socket');
      await produce(urgent, 'deliver.ws.urgent');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(grace.frames.find((frame) => frame.type === 'message')).toMatchObject({ id: urgent.messageId, urgency: 4 });
    grace.socket.close();
    const admin = kafka.admin();
    await admin.connect();
    const { groups } = await admin.listGroups();
    await admin.disconnect();
    const gatewayGroups = groups
      .map((group) => group.groupId)
      .filter((id) => id.startsWith(`${config.kafka.topicPrefix}msgxc.gateway.`));
    // Two instances, each with its main feed and its urgent feed.
    expect(gatewayGroups.filter((id) => id.endsWith('.urgent'))).toHaveLength(2);
    expect(gatewayGroups).toHaveLength(4);
  });

  it('lets users live-subscribe only to threads the thread store says they may read', async () => {
    const threads = createThreadStore(cassandra);
    const room = await threads.createThread({ owner: 'owner', name: 'private room' });
    const lobby = await threads.createThread({ owner: 'owner', name: 'lobby', openSubscribe: true });
    await threads.subscribe(room.tid, 'erin');
    const erin = await open(second.gateway.url, await signToken('erin'));
    const frank = await open(first.gateway.url, await signToken('frank'));
    await erin.next('welcome');
    await frank.next('welcome');
    erin.send({ type: 'subscribe', tid: room.tid });
    expect(await erin.next()).toMatchObject({ type: 'subscribed', tid: room.tid });
    frank.send({ type: 'subscribe', tid: room.tid });
    expect(await frank.next()).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    frank.send({ type: 'subscribe', tid: 'no-such-thread' });
    expect(await frank.next()).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    frank.send({ type: 'subscribe', tid: lobby.tid });
    expect(await frank.next()).toMatchObject({ type: 'subscribed', tid: lobby.tid });

    const inRoom = wsBatch([{ uid: 'someone' }], { tid: room.tid });
    const inLobby = wsBatch([{ uid: 'someone' }], { tid: lobby.tid });
    await produce(inRoom);
    await produce(inLobby);
    expect(await erin.next('message', 60_000)).toMatchObject({ id: inRoom.messageId, tid: room.tid });
    expect(await frank.next('message', 60_000)).toMatchObject({ id: inLobby.messageId, tid: lobby.tid });
    for (const client of [erin, frank]) {
      client.send({ type: 'ping' });
      await client.next('pong');
      expect(client.frames.filter((frame) => frame.type === 'message')).toEqual([]);
    }
    erin.socket.close();
    frank.socket.close();
  });

  it('records connect and disconnect check-ins on the checkins topic', async () => {
    const client = await open(first.gateway.url, await signToken('gina'));
    const welcome = await client.next('welcome');
    client.socket.close();
    await eventually(() => checkIns.filter((checkIn) => checkIn.sessionId === welcome.session).length >= 2, 60_000);
    const session = checkIns.filter((checkIn) => checkIn.sessionId === welcome.session);
    expect(session.map((checkIn) => checkIn.type)).toEqual(['connect', 'disconnect']);
    expect(session[0]).toMatchObject({ uid: 'gina', gatewayId: first.gateway.gatewayId });
  });
});
