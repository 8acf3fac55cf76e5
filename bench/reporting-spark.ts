/**
 * The Spark half of `npm run bench -- reporting`:
 *
 *   npm run bench -- reporting-spark [rate=20000] [seconds=30] [runs=3] [events=10000000] [parts=streaming,batch]
 *
 * 1. streaming: DeliveryEvents produced at `rate`/s for `seconds` into a topic of its own while the
 *    streaming roll-up job (spark-submit, local[2]) runs on a keyspace of its own. Lag = records in the
 *    topic not yet in a committed micro-batch (read from the job's checkpoint), sampled every second;
 *    reported as the peak, the lag when the load stops and the time to drain it, and the job's
 *    throughput. Baseline in the same run: a raw kafkajs consumer reading the same topic.
 * 2. batch: the experiment read-out over `events` events generated inside Spark (`bench-batch`), beside a
 *    plain group-by count over the same events.
 * Each is run `runs` times; every figure is printed per run and as min–max.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'cassandra-driver';
import { clientOptions, loadMigrations, replicationClause } from '../pipeline/cassandra/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import { createKafka } from '../pipeline/kafka/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { createSerde } from '../pipeline/serde/index.ts';
import { submitArgs } from '../pipeline/spark/index.ts';
import { topicName } from '../pipeline/topics/index.ts';
import { buildDeliveryEvent, type DeliveryEvent } from '../schemas/types.generated.ts';

const channels = ['ws', 'fcm', 'apns', 'webpush', 'sms', 'email'] as const;
const cycle = ['queued', 'sent', 'delivered', 'opened', 'sent', 'delivered', 'clicked', 'failed'] as const;

function eventAt(index: number, at: number, run: string): DeliveryEvent {
  return buildDeliveryEvent({
    eventId: `${run}:${index}`,
    type: cycle[Math.abs(index) % cycle.length] as DeliveryEvent['type'],
    at,
    messageId: `m${Math.floor(index / cycle.length)}`,
    uid: `u${index % 50_000}`,
    tid: `t${index % 20}`,
    channel: channels[Math.abs(Math.floor(index / cycle.length)) % channels.length] as DeliveryEvent['channel'],
    urgency: 1 + (Math.abs(index) % 4),
    experimentId: 'e1',
    variant: index % 2 === 0 ? 'control' : 'b',
  });
}

const spread = (values: number[]) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;

async function committedOffset(checkpoint: string): Promise<number> {
  const commits = await readdir(join(checkpoint, 'commits')).catch(() => [] as string[]);
  const latest = Math.max(-1, ...commits.filter((name) => /^\d+$/.test(name)).map(Number));
  if (latest < 0) return 0;
  const lines = (await readFile(join(checkpoint, 'offsets', String(latest)), 'utf8')).trim().split('\n');
  const offsets = JSON.parse(lines.at(-1) as string) as Record<string, Record<string, number>>;
  return Object.values(offsets).reduce((sum, parts) => sum + Object.values(parts).reduce((a, b) => a + b, 0), 0);
}

function runJob(config: Config, job: string[], logFile: string) {
  const child = spawn(join(config.projectRoot, 'spark', 'bin', 'submit.sh'), submitArgs(config, job), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number>((resolvePromise) => child.on('exit', (code) => resolvePromise(code ?? 1)));
  return { child, exited, output: () => output };
}

async function streamingRun(config: Config, rate: number, seconds: number, round: number) {
  const id = randomBytes(4).toString('hex');
  const prefix = `bench-spark-${id}.`;
  const keyspace = `bench_spark_${id}`;
  const scoped: Config = {
    ...config,
    kafka: { ...config.kafka, topicPrefix: prefix },
    cassandra: { ...config.cassandra, keyspace },
  };
  const log = createLogger(config, 'bench');
  await createRollupTables(config, keyspace);
  const kafka = createKafka(scoped, log);
  const admin = kafka.admin();
  await admin.connect();
  const topic = topicName(scoped, 'events');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const serde = createSerde(scoped);
  const total = rate * seconds;
  const start = Date.now();
  const values: Buffer[] = [];
  for (let index = 0; index < total; index += 1) values.push(await serde.encode('events', eventAt(index, start, id)));
  const checkpoint = join(tmpdir(), `msgxc-bench-checkpoint-${id}`);
  const job = runJob(
    config,
    ['--keyspace', keyspace, '--topic-prefix', prefix, 'stream', '--checkpoint', checkpoint],
    join(tmpdir(), `msgxc-bench-stream-${id}.log`),
  );
  const producer = kafka.producer();
  await producer.connect();
  // One warm-up event: the job is up once the micro-batch holding it is committed.
  await producer.send({ topic, acks: -1, messages: [{ value: await serde.encode('events', eventAt(-1, start, id)) }] });
  try {
    return await measure();
  } finally {
    if (job.child.pid && job.child.exitCode === null) process.kill(-job.child.pid, 'SIGTERM');
    await job.exited;
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    const cassandra = new Client(clientOptions(config, null));
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 120_000 });
    await cassandra.shutdown();
    await rm(checkpoint, { recursive: true, force: true });
  }

  async function measure() {
    while ((await readdir(join(checkpoint, 'commits')).catch(() => [])).length === 0) {
      if (job.child.exitCode !== null) throw new Error(`the streaming job exited (${job.child.exitCode}); see its log`);
      await sleep(500);
    }
    const lags: number[] = [];
    const sample = async () => {
      const end = await admin.fetchTopicOffsets(topic);
      const produced = end.reduce((sum, partition) => sum + Number(partition.high), 0);
      lags.push(produced - (await committedOffset(checkpoint)));
    };
    const produceStart = Date.now();
    const slice = Math.max(1, Math.round(rate / 10));
    let nextSample = produceStart + 1000;
    for (let sent = 0; sent < total; sent += slice) {
      const due = produceStart + (sent / rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      await producer.send({ topic, acks: 1, messages: values.slice(sent, sent + slice).map((value) => ({ value })) });
      if (Date.now() >= nextSample) {
        await sample();
        nextSample += 1000;
      }
    }
    const offeredRate = total / ((Date.now() - produceStart) / 1000);
    await sample();
    const lagAtStop = lags.at(-1) as number;
    const stopAt = Date.now();
    while ((lags.at(-1) as number) > 0 && Date.now() - stopAt < 600_000) {
      await sleep(1000);
      await sample();
    }
    const drainSeconds = (Date.now() - stopAt) / 1000;
    const jobRate = total / ((Date.now() - produceStart) / 1000);
    const baseline = await rawConsume(kafka, topic, total);
    const result = { round, offeredRate, peakLag: Math.max(...lags), lagAtStop, drainSeconds, jobRate, baseline };
    console.log(JSON.stringify(result));
    return result;
  }
}

/** Only the roll-up tables (migration 010) the streaming job writes; DDL on a busy node gets a long timeout. */
async function createRollupTables(config: Config, keyspace: string): Promise<void> {
  const client = new Client(clientOptions(config, null));
  const slow = { readTimeout: 120_000 };
  try {
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replicationClause(config)}`,
      [],
      slow,
    );
    const rollups = (await loadMigrations()).find((migration) => migration.version === 10);
    for (const statement of rollups?.statements ?? []) {
      await client.execute(statement.replace(/(CREATE TABLE IF NOT EXISTS )(\w+)/i, `$1${keyspace}.$2`), [], slow);
    }
  } finally {
    await client.shutdown();
  }
}

async function rawConsume(kafka: ReturnType<typeof createKafka>, topic: string, total: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-spark-raw-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const began = Date.now();
  await new Promise<void>((resolvePromise) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= total) resolvePromise();
      },
    });
  });
  const rate = total / ((Date.now() - began) / 1000);
  await consumer.disconnect();
  return rate;
}

async function batchRuns(config: Config, events: number, runs: number) {
  const job = runJob(
    config,
    ['bench-batch', '--events', String(events), '--runs', String(runs)],
    join(tmpdir(), 'msgxc-bench-batch.log'),
  );
  const code = await job.exited;
  const line = job
    .output()
    .split('\n')
    .find((text) => text.startsWith('BENCH '));
  if (code !== 0 || !line) throw new Error(`bench-batch failed (exit ${code}); see ${tmpdir()}/msgxc-bench-batch.log`);
  return JSON.parse(line.slice('BENCH '.length)) as {
    readout_s: number[];
    baseline_groupby_s: number[];
    events_per_s: number;
  };
}

export async function run(config: Config, args: string[]): Promise<number> {
  const named = new Map(args.map((arg) => [arg.split('=')[0] as string, arg.split('=')[1] ?? 'true']));
  const rate = Number(named.get('rate') ?? 20_000);
  const seconds = Number(named.get('seconds') ?? 30);
  const runs = Number(named.get('runs') ?? 3);
  const events = Number(named.get('events') ?? 10_000_000);
  const parts = (named.get('parts') ?? 'streaming,batch').split(',');
  if (parts.includes('streaming')) {
    const results = [];
    for (let round = 1; round <= runs; round += 1) results.push(await streamingRun(config, rate, seconds, round));
    console.log(
      `streaming roll-ups at ${rate}/s for ${seconds} s, ${runs} runs: offered ${spread(results.map((r) => r.offeredRate))}/s; ` +
        `peak lag ${spread(results.map((r) => r.peakLag))} records; lag when the load stopped ${spread(results.map((r) => r.lagAtStop))}; ` +
        `drained in ${spread(results.map((r) => r.drainSeconds))} s; job throughput ${spread(results.map((r) => r.jobRate))}/s ` +
        `(raw kafkajs consume of the same topic ${spread(results.map((r) => r.baseline))}/s)`,
    );
  }
  if (parts.includes('batch')) {
    const result = await batchRuns(config, events, runs);
    console.log(
      `experiment read-out over ${events.toLocaleString('en')} generated events, ${runs} runs: ${result.readout_s.join(', ')} s ` +
        `(raw group-by count of the same events: ${result.baseline_groupby_s.join(', ')} s)`,
    );
  }
  return 0;
}
