import { type Admin, Kafka, type LogEntry, logLevel, type Message, Partitioners, type ProducerConfig } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { createLogger, type Logger } from '../log/index.ts';

export type { Admin, Consumer, IHeaders, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';

const kafkaLevels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through pino so its lines carry the same structure (and redaction) as ours. */
export function createKafka(config: Config, log: Logger = createLogger(config, 'kafka')): Kafka {
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  return new Kafka({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    logLevel: verbose ? logLevel.INFO : logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: { message, timestamp: _timestamp, logger: _logger, ...fields } }: LogEntry) => {
        log[kafkaLevels[level] ?? 'info']({ kafkajs: fields }, message);
      },
  });
}

/**
 * The producer every stage shares: acks from all in-sync replicas, idempotent so the producer's own
 * retries cannot duplicate or reorder records (kafkajs serialises requests per broker for that).
 */
export const producerConfig: ProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
};

/** Partition counts of the topics that exist; missing topics are absent from the map. */
export async function partitionCounts(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((topic) => existing.has(topic));
  const counts = new Map<string, number>();
  if (present.length === 0) return counts;
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present });
  for (const topic of metadata) counts.set(topic.name, topic.partitions.length);
  return counts;
}

export interface TopicToCreate {
  topic: string;
  partitions: number;
  retentionMs: number;
}

/** Creates the topics that do not exist yet; a concurrent creator winning the race is fine. */
export async function createTopicsIfMissing(admin: Admin, topics: TopicToCreate[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter(({ topic }) => !existing.has(topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map(({ topic, partitions, retentionMs }) => ({
      topic,
      numPartitions: partitions,
      configEntries: [{ name: 'retention.ms', value: String(retentionMs) }],
    })),
  });
  return missing.map(({ topic }) => topic);
}

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/** A group's lag per partition: high watermark minus the committed offset (from the low watermark when none). */
export async function groupLag(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const lag: PartitionLag[] = [];
  for (const { topic, partitions } of committed) {
    const watermarks = await admin.fetchTopicOffsets(topic);
    for (const mark of watermarks) {
      const entry = partitions.find((item) => item.partition === mark.partition);
      const offset = entry && Number(entry.offset) >= 0 ? Number(entry.offset) : Number(mark.low);
      lag.push({ topic, partition: mark.partition, lag: Math.max(0, Number(mark.high) - offset) });
    }
  }
  return lag;
}

/** Bytes a message adds to a produce request, near enough: key, value, header names and values, and framing. */
export function messageBytes(message: Message): number {
  const size = (value: Buffer | string | null | undefined) =>
    value == null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  let bytes = 24 + size(message.key) + size(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name) + 8;
    for (const item of Array.isArray(value) ? value : [value]) bytes += size(item);
  }
  return bytes;
}

/**
 * Splits messages into groups of at most `maxBytes` each, in order. The broker refuses a partition's batch
 * above message.max.bytes and kafkajs puts a request's messages for one partition into one batch, so a
 * request under that size is always accepted. A message alone above `maxBytes` gets a group of its own.
 */
export function splitByBytes<T extends Message>(messages: T[], maxBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
