/**
 * The stage runtime against raw kafkajs, same records, same run:
 *
 *   npm run bench -- runtime [records=200000] [partitions=3] [rounds=1] [avro] [clients]
 *
 * Seeds `records` pre-encoded Avro check-ins (~70 bytes) once, then per round, one after the other so they
 * do not share the CPU: (1) a raw kafkajs consume→produce pipe (eachBatch, one send per `handlerBatch`
 * records as the runtime does, auto-commit per fetched batch), (2) a pass-through stage through the runtime (consume → handler → produce → commit) with
 * bytes in and bytes out. Both use the same consumer tuning (config.runtime.consumer) and an idempotent
 * acks=-1 producer; the stage's is the client production uses (`MSGXC_KAFKA_PRODUCER_CLIENT`, `@platformatic/kafka`
 * by default), so the ratio is the runtime's overhead net of what its producer client wins over kafkajs's.
 * `avro` adds (3): a stage that decodes each check-in through the registry and encodes an acknowledgement, the
 * cost of a real stage. `clients` compares the Kafka clients in the same run: (2b) the same pass-through stage
 * with the other client behind the runtime's record producer (consuming stays kafkajs), and (1b) the raw pipe (1)
 * with `@platformatic/kafka` consuming and producing (bench/platformatic-pipe.ts), beside (1).
 * Throughput is measured on the output topic's high watermarks, from the first output to the last.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, CompressionTypes, type Message } from 'kafkajs';
import { Registry } from 'prom-client';
import type { Config } from '../pipeline/config/index.ts';
import {
  createKafka,
  kafkajsTransport,
  platformaticTransport,
  producerConfig,
  splitByBytes,
} from '../pipeline/kafka/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { defineStage, rawCodec, runStages } from '../pipeline/runtime/index.ts';
import { kafkaTopicName } from '../pipeline/runtime/names.ts';
import { createSerde } from '../pipeline/serde/index.ts';
import type { Acknowledgement, CheckIn } from '../schemas/index.ts';
import { reportFigure } from './results.ts';

interface Options {
  records: number;
  partitions: number;
  rounds: number;
  avro: boolean;
  /** Also measure the stage with the other producer client, and a raw pipe written with `@platformatic/kafka`. */
  clients: boolean;
}

function parseArgs(args: string[]): Options {
  const named = new Map(args.map((arg) => [arg.split('=')[0]!, arg.split('=')[1] ?? 'true']));
  const number = (key: string, fallback: number) => {
    const value = Number(named.get(key) ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer`);
    return value;
  };
  return {
    records: number('records', 200_000),
    partitions: number('partitions', 3),
    rounds: number('rounds', 1),
    avro: named.has('avro'),
    clients: named.has('clients'),
  };
}

/** Records/s from the first output seen to the last: the join and first fetch are not the runtime's cost. */
async function measureOutput(admin: Admin, topic: string, expected: number, timeoutMs = 600_000): Promise<number> {
  const size = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, mark) => sum + Number(mark.high), 0);
  const deadline = Date.now() + timeoutMs;
  let first: { at: number; count: number } | undefined;
  for (;;) {
    const count = await size();
    const now = performance.now();
    if (!first && count > 0) first = { at: now, count };
    if (first && count >= expected) {
      const seconds = (now - first.at) / 1_000;
      return seconds > 0 ? (count - first.count) / seconds : Number.POSITIVE_INFINITY;
    }
    if (Date.now() > deadline) throw new Error(`${topic}: ${count} of ${expected} records after ${timeoutMs} ms`);
    await sleep(25);
  }
}

export async function run(base: Config, args: string[]): Promise<number> {
  const options = parseArgs(args);
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const config: Config = { ...base, logLevel: 'warn', kafka: { ...base.kafka, topicPrefix: prefix } };
  const log = createLogger(config, 'bench');
  const kafka = createKafka(config, log);
  const admin = kafka.admin();
  await admin.connect();
  const name = (logical: string) => kafkaTopicName(config, logical);
  const { consumer: tuning, handlerBatch } = config.runtime;
  const outputs: string[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    outputs.push(`raw-out-${round}`, `stage-out-${round}`);
    if (options.clients) outputs.push(`raw-pk-out-${round}`, `stage-pk-out-${round}`);
  }
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: ['checkins', 'acks', ...outputs].map((logical) => ({
        topic: name(logical),
        numPartitions: options.partitions,
      })),
    });

    // Seed: pre-encoded Avro check-ins, sent in large arrays (kafkajs has no linger).
    const serde = createSerde(config);
    const sample = await serde.encode('checkins', checkIn(0));
    const producer = kafka.producer(producerConfig);
    await producer.connect();
    const seedStarted = performance.now();
    // kafkajs groups a send's messages per partition in quadratic time: moderate arrays are faster.
    const chunk = 1_000;
    for (let start = 0; start < options.records; start += chunk) {
      const messages: Message[] = [];
      for (let index = start; index < Math.min(options.records, start + chunk); index++) {
        messages.push({ key: `session-${index}`, value: await serde.encode('checkins', checkIn(index)) });
      }
      await producer.send({ topic: name('checkins'), acks: -1, compression: CompressionTypes.None, messages });
    }
    const seedRate = options.records / ((performance.now() - seedStarted) / 1_000);

    console.log(
      `runtime bench: ${options.records} records of ~${sample.length} B, ${options.partitions} partitions, ` +
        `handler batch ${handlerBatch}, partitions consumed concurrently ${tuning.partitionsConsumedConcurrently}, ` +
        `maxBytesPerPartition ${tuning.maxBytesPerPartition}, compression none, idempotent producer acks=-1`,
    );
    console.log(`  seed produce (raw kafkajs, encode included)      ${format(seedRate)}`);

    const ratios: number[] = [];
    const clients: { kafkajs: number; platformatic: number }[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      // (1) raw kafkajs: consume → produce the same bytes → auto-commit.
      const rawOut = name(`raw-out-${round}`);
      const consumer = kafka.consumer({
        groupId: `${prefix}raw-${round}`,
        maxBytesPerPartition: tuning.maxBytesPerPartition,
        maxBytes: tuning.maxBytes,
        maxWaitTimeInMs: tuning.maxWaitMs,
        allowAutoTopicCreation: false,
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [name('checkins')], fromBeginning: true });
      await consumer.run({
        partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently,
        eachBatch: async ({ batch }) => {
          const messages = batch.messages.map((message) => ({
            key: message.key,
            value: message.value,
            headers: message.headers,
          }));
          // Sent in the runtime's chunk size (and under the broker's message.max.bytes): the same produce
          // pattern, so the difference is the runtime's own work (decode, handler, headers, per-chunk commit).
          for (let start = 0; start < messages.length; start += handlerBatch) {
            for (const group of splitByBytes(
              messages.slice(start, start + handlerBatch),
              config.runtime.maxProduceBytes,
            )) {
              await producer.send({ topic: rawOut, acks: -1, compression: CompressionTypes.None, messages: group });
            }
          }
        },
      });
      const raw = await measureOutput(admin, rawOut, options.records);
      await consumer.disconnect();
      console.log(`  round ${round}: raw kafkajs consume→produce pipe      ${format(raw)}`);

      if (options.clients) {
        // (1b) the same raw pipe with @platformatic/kafka consuming and producing, a fresh group and output topic.
        const pkRawOut = name(`raw-pk-out-${round}`);
        const { measurePlatformaticPipe } = await import('./platformatic-pipe.ts');
        const pipe = { groupId: `${prefix}raw-pk-${round}`, input: name('checkins'), output: pkRawOut };
        const pkRaw = await measurePlatformaticPipe(config, pipe, () =>
          measureOutput(admin, pkRawOut, options.records),
        );
        // Every record produced once, and every input offset committed by the group.
        const [offsets] = await admin.fetchOffsets({ groupId: pipe.groupId, topics: [pipe.input] });
        const committed = offsets!.partitions.reduce((sum, { offset }) => sum + Math.max(0, Number(offset)), 0);
        const produced = await sizeOf(admin, pkRawOut);
        if (produced !== options.records || committed !== options.records) {
          throw new Error(`${pkRawOut}: ${produced} produced and ${committed} committed of ${options.records} records`);
        }
        clients.push({ kafkajs: raw, platformatic: pkRaw });
        console.log(
          `  round ${round}: raw @platformatic/kafka pipe         ${format(pkRaw)}  ÷ kafkajs raw ${(pkRaw / raw).toFixed(2)}`,
        );
      }

      // (2) the runtime, bytes in and bytes out.
      const stageOut = `stage-out-${round}`;
      const passThrough = defineStage<Buffer, unknown>({
        name: `bench-pass-${round}`,
        input: ['checkins'],
        output: [stageOut],
        handler: async (batch) => batch.map((record) => ({ topic: stageOut, key: record.key, value: record.value })),
      });
      const stage = await runStages(config, [passThrough], { codec: rawCodec, registry: new Registry(), log });
      const runtime = await measureOutput(admin, name(stageOut), options.records);
      await stage.stop('bench round over');
      ratios.push(runtime / raw);
      console.log(
        `  round ${round}: runtime pass-through stage (${config.kafka.producerClient}) ${format(runtime)}  ratio ${(runtime / raw).toFixed(2)} (goal ≥ 0.60)`,
      );

      if (options.clients) {
        const other = config.kafka.producerClient === 'platformatic' ? 'kafkajs' : 'platformatic';
        const otherOut = `stage-pk-out-${round}`;
        const otherStage = defineStage<Buffer, unknown>({
          name: `bench-pass-other-${round}`,
          input: ['checkins'],
          output: [otherOut],
          handler: async (batch) => batch.map((record) => ({ topic: otherOut, key: record.key, value: record.value })),
        });
        const running = await runStages(config, [otherStage], {
          codec: rawCodec,
          registry: new Registry(),
          log,
          producerTransport:
            other === 'kafkajs'
              ? kafkajsTransport(createKafka(config, log).producer(producerConfig))
              : platformaticTransport(config, log),
        });
        const otherRate = await measureOutput(admin, name(otherOut), options.records);
        await running.stop('bench round over');
        const [pk, kj] = other === 'kafkajs' ? [runtime, otherRate] : [otherRate, runtime];
        console.log(
          `  round ${round}: same stage, ${other} producer${' '.repeat(Math.max(1, 14 - other.length))}${format(otherRate)}  ratio ${(otherRate / raw).toFixed(2)} · stage @platformatic/kafka ÷ kafkajs ${(pk / kj).toFixed(2)}`,
        );
      }

      if (options.avro) {
        // (3) decode every record through the registry and encode a new one: what a real stage also pays.
        const acks = defineStage<CheckIn, unknown>({
          name: `bench-avro-${round}`,
          input: ['checkins'],
          output: ['acks'],
          handler: async (batch) =>
            batch.map((record) => ({ topic: 'acks', key: record.key, value: ackFor(record.value) })),
        });
        const before = await sizeOf(admin, name('acks'));
        const avroStage = await runStages(config, [acks], { registry: new Registry(), log });
        const avro = await measureOutput(admin, name('acks'), before + options.records);
        await avroStage.stop('bench round over');
        console.log(
          `  round ${round}: runtime stage, Avro decode+encode    ${format(avro)}  ratio ${(avro / raw).toFixed(2)}`,
        );
      }
    }
    const stageRatio = median(ratios);
    console.log(`  median ratio runtime / raw over ${ratios.length} round(s): ${stageRatio.toFixed(2)}`);
    reportFigure({
      bench: 'runtime',
      figure: 'pass-through stage ÷ raw kafkajs consume→produce (median of rounds)',
      value: stageRatio,
      unit: '×',
      ratio: stageRatio,
      goal: '≥ 0.6',
      met: stageRatio >= 0.6,
    });
    if (clients.length > 0) {
      const quotient = median(clients.map((c) => c.platformatic / c.kafkajs));
      console.log(
        `  median raw @platformatic/kafka ÷ raw kafkajs over ${clients.length} round(s): ${quotient.toFixed(2)}`,
      );
      reportFigure({
        bench: 'runtime',
        figure: 'raw consume→produce, @platformatic/kafka ÷ kafkajs (median of rounds)',
        value: median(clients.map((c) => c.platformatic)),
        unit: 'records/s',
        baseline: { name: 'raw kafkajs pipe', value: median(clients.map((c) => c.kafkajs)), unit: 'records/s' },
        ratio: quotient,
        goal: 'informational',
      });
    }
    await producer.disconnect();
    return 0;
  } finally {
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function sizeOf(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, mark) => sum + Number(mark.high), 0);
}

function format(rate: number): string {
  return `${Math.round(rate).toLocaleString('en-US').padStart(9)} records/s`;
}

function checkIn(index: number): CheckIn {
  const at = 1_767_225_600_000 + index;
  return {
    type: 'heartbeat',
    sessionId: `session-${index}`,
    uid: `u${index % 1000}`,
    at,
    connectedAt: at - 60_000,
    deviceId: null,
    gatewayId: null,
    reason: null,
    userAgent: null,
  };
}

function ackFor(checkin: CheckIn): Acknowledgement {
  return {
    ackId: checkin.sessionId,
    type: 'delivered',
    messageId: checkin.sessionId,
    uid: checkin.uid,
    tid: null,
    channel: null,
    deliveryId: null,
    deviceId: null,
    sessionId: checkin.sessionId,
    action: null,
    at: checkin.at,
    receivedAt: checkin.at,
    source: 'bench',
    trace: null,
  };
}
