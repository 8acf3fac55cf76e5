/**
 * The Cassandra sink connector against a raw driver loop, same rows, same run:
 *
 *   npm run bench -- reporting [events=60000] [tasks=3] [concurrency=64]
 *
 * Seeds `events` Avro delivery events (through the project's serde) on a fresh `events` topic of
 * `tasks` partitions, spread over the 24 hours of one day, then one after the other so they do not
 * share the CPU: (1) raw: cassandra-driver (Node) inserting the same rows into events_by_day with a
 * prepared statement, `concurrency` in flight (executeConcurrent); (2) sink: the events-by-day
 * connector on the Connect worker (MSGXC_CONNECT_URL) with tasks.max = `tasks`, consuming, decoding
 * through the Apicurio converter and upserting in per-partition batches. Each into a keyspace of its
 * own. The sink's rows/s is measured on the table's row count, from the first row seen to the last.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, concurrent } from 'cassandra-driver';
import { pino } from 'pino';
import { applyConnectors, loadSinks, removeConnectors } from '../connectors/index.ts';
import { clientOptions, createCassandra, migrate } from '../pipeline/cassandra/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import { createKafka, createTopicsIfMissing, producerConfig } from '../pipeline/kafka/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { createSerde } from '../pipeline/serde/index.ts';
import { topicName } from '../pipeline/topics/topology.ts';
import { buildDeliveryEvent, type DeliveryEvent } from '../schemas/types.generated.ts';

const day = Date.UTC(2026, 5, 1);
const hours = Array.from({ length: 24 }, (_, hour) => hour);

function events(count: number): DeliveryEvent[] {
  return Array.from({ length: count }, (_, index) =>
    buildDeliveryEvent({
      eventId: randomUUID(),
      type: index % 3 === 0 ? 'sent' : 'delivered',
      at: day + Math.floor((index / count) * 86_400_000),
      messageId: `m-${index % 5000}`,
      requestId: `r-${index % 5000}`,
      deliveryId: `d-${index}`,
      uid: `u-${index % 20_000}`,
      tid: `t-${index % 100}`,
      channel: 'sms',
      urgency: 2,
      experimentId: 'exp-bench',
      variant: index % 2 === 0 ? 'A' : 'B',
      source: 'deliver.sms',
      provider: 'twilio',
      providerCode: '200',
      latencyMs: 40 + (index % 50),
      segments: 1,
      attempt: 0,
    }),
  );
}

const eventsByDayInsert =
  'INSERT INTO events_by_day (day, hour, at, event_id, type, message_id, request_id, delivery_id, uid, tid, ' +
  'channel, device_id, urgency, experiment_id, variant, reason, provider, provider_code, latency_ms, segments, ' +
  'attempt, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

function row(event: DeliveryEvent): unknown[] {
  const date = new Date(event.at).toISOString().slice(0, 10);
  return [
    date,
    new Date(event.at).getUTCHours(),
    new Date(event.at),
    event.eventId,
    event.type,
    event.messageId,
    event.requestId,
    event.deliveryId,
    event.uid,
    event.tid,
    event.channel,
    event.deviceId,
    event.urgency,
    event.experimentId,
    event.variant,
    event.reason,
    event.provider,
    event.providerCode,
    event.latencyMs,
    event.segments,
    event.attempt,
    event.source,
  ];
}

async function rowCount(client: Client): Promise<number> {
  const date = new Date(day).toISOString().slice(0, 10);
  const result = await client.execute(
    'SELECT count(*) AS n FROM events_by_day WHERE day = ? AND hour IN ?',
    [date, hours],
    {
      prepare: true,
      readTimeout: 60_000,
    },
  );
  return Number(result.first().get('n'));
}

async function rawLoop(client: Client, rows: unknown[][], concurrencyLevel: number): Promise<number> {
  const started = performance.now();
  await concurrent.executeConcurrent(client, eventsByDayInsert, rows, { concurrencyLevel });
  return rows.length / ((performance.now() - started) / 1000);
}

async function sinkRun(config: Config, client: Client, expected: number, tasks: number): Promise<number> {
  const sink = loadSinks().find((candidate) => candidate.name === 'events-by-day')!;
  await applyConnectors(config, { sinks: [{ ...sink, tasksMax: tasks }], timeoutMs: 180_000 });
  const deadline = Date.now() + 900_000;
  let first: { at: number; count: number } | undefined;
  try {
    for (;;) {
      const count = await rowCount(client);
      const now = performance.now();
      if (!first && count > 0) first = { at: now, count };
      if (first && count >= expected) return (count - first.count) / ((now - first.at) / 1000);
      if (Date.now() > deadline) throw new Error(`sink: ${count} of ${expected} rows after 15 minutes`);
      await sleep(500);
    }
  } finally {
    await removeConnectors(config, [sink]);
  }
}

export async function run(base: Config, args: string[]): Promise<number> {
  const named = new Map(args.map((arg) => [arg.split('=')[0]!, arg.split('=')[1] ?? 'true']));
  const count = Number(named.get('events') ?? 60_000);
  const tasks = Number(named.get('tasks') ?? 3);
  const concurrencyLevel = Number(named.get('concurrency') ?? 64);
  const id = randomBytes(3).toString('hex');
  const keyspaceOf = (kind: string) => `msgxc_bench_${kind}_${id}`;
  const sinkConfig: Config = {
    ...base,
    logLevel: 'warn',
    kafka: { ...base.kafka, topicPrefix: `bench-${id}.` },
    cassandra: { ...base.cassandra, keyspace: keyspaceOf('sink') },
  };
  const rawConfig: Config = { ...sinkConfig, cassandra: { ...base.cassandra, keyspace: keyspaceOf('raw') } };
  const quiet = pino({ level: 'silent' });
  const kafka = createKafka(sinkConfig, createLogger(sinkConfig, 'bench'));
  const admin = kafka.admin();
  await admin.connect();
  const sinkClient = createCassandra(sinkConfig);
  const rawClient = createCassandra(rawConfig);
  const seeded = events(count);
  try {
    await migrate(sinkConfig, { log: quiet });
    await migrate(rawConfig, { log: quiet });
    const topic = topicName(sinkConfig, 'events');
    await createTopicsIfMissing(admin, [{ topic, partitions: tasks, retentionMs: 3_600_000 }]);
    const serde = createSerde(sinkConfig);
    const producer = kafka.producer(producerConfig);
    await producer.connect();
    for (let start = 0; start < seeded.length; start += 2000) {
      const chunk = seeded.slice(start, start + 2000);
      const messages = await Promise.all(
        chunk.map(async (event) => ({ key: event.messageId, value: await serde.encode('events', event) })),
      );
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();
    console.log(`seeded ${count} events on ${topic} (${tasks} partitions)`);

    const raw = await rawLoop(rawClient, seeded.map(row), concurrencyLevel);
    console.log(`raw cassandra-driver prepared loop (${concurrencyLevel} in flight): ${raw.toFixed(0)} rows/s`);
    const sink = await sinkRun(sinkConfig, sinkClient, count, tasks);
    console.log(`sink connector (tasks.max=${tasks}): ${sink.toFixed(0)} rows/s`);
    console.log(`sink / raw = ${(sink / raw).toFixed(2)} (goal >= 0.70)`);
    return 0;
  } finally {
    await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(`bench-${id}.`)) });
    await admin.disconnect();
    await sinkClient.shutdown();
    await rawClient.shutdown();
    const { Client: DriverClient } = await import('cassandra-driver');
    const dropper = new DriverClient(clientOptions(base, null));
    for (const keyspace of [keyspaceOf('sink'), keyspaceOf('raw')]) {
      await dropper.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 120_000 });
    }
    await dropper.shutdown();
  }
}
