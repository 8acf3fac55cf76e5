import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../pipeline/config/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import type { System } from '../harness/system.ts';
import { runSteady } from './steady.ts';
import type { Fault, FaultContext } from './types.ts';

/**
 * A poison flood: `poison` records nobody can decode (random bytes; a Confluent frame naming a schema id
 * that does not exist; a real frame cut short) produced straight to `ingest` while good messages flow. The
 * good ones keep their latency; every bad one ends in `prioritize.dlq` with its reason.
 */
function poisonRecord(i: number): Buffer {
  switch (i % 3) {
    case 0:
      return randomBytes(40 + (i % 200));
    case 1:
      return Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), randomBytes(30)]);
    default:
      return Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from([0x02, 0x40])]);
  }
}

async function flood(config: Config, count: number): Promise<void> {
  const kafka = new Kafka({ brokers: config.kafka.brokers, clientId: 'fault-poison', logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let start = 0; start < count; start += 500) {
      const messages = Array.from({ length: Math.min(500, count - start) }, (_, j) => ({
        key: `poison-${start + j}`,
        value: poisonRecord(start + j),
      }));
      await producer.send({ topic: topicName(config, 'ingest'), acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

async function recordsIn(config: Config, logical: string): Promise<number> {
  const admin = new Kafka({
    brokers: config.kafka.brokers,
    clientId: 'fault-count',
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topicName(config, logical));
    return offsets.reduce((sum, mark) => sum + Number(mark.high) - Number(mark.low), 0);
  } finally {
    await admin.disconnect();
  }
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;

export const poisonFlood: Fault = {
  name: 'poison flood',
  async run(context: FaultContext) {
    let dead = 0;
    const result = await runSteady(
      {
        name: 'poison flood',
        count: context.scale.steady,
        intervalMs: 100,
        async inject(system: System, ctx) {
          await flood(system.config, ctx.scale.poison);
          const deadline = Date.now() + 180_000;
          while (Date.now() < deadline) {
            dead = await recordsIn(system.config, 'prioritize.dlq');
            if (dead >= ctx.scale.poison) break;
            await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
          return `${ctx.scale.poison} bad records produced, ${dead} in prioritize.dlq`;
        },
      },
      context,
    );
    const third = Math.floor(result.latencies.length / 3);
    const before = result.latencies.slice(0, third);
    const during = result.latencies.slice(third);
    return {
      ...result,
      lost: result.lost + Math.max(0, context.scale.poison - dead),
      note: `${result.note}; good latency p50/p99 before ${percentile(before, 0.5)}/${percentile(before, 0.99)} ms, during and after ${percentile(during, 0.5)}/${percentile(during, 0.99)} ms`,
    };
  },
};
