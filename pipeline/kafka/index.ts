import type { Admin } from 'kafkajs';

export type { Admin, Consumer, IHeaders, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
export { type Batcher, type BatchingOptions, createBatcher } from './batcher.ts';
export { messageBytes, splitByBytes } from './bytes.ts';
export {
  boundedRetry,
  createKafka,
  type KafkaClientOptions,
  kafkaLogLevels,
  noDelaySockets,
  producerConfig,
  requestProducerConfig,
} from './client.ts';
export { platformaticTransport } from './platformatic.ts';
export {
  createRecordProducer,
  type EncodedRecord,
  kafkajsTransport,
  type PreparedRecord,
  type ProducerProfile,
  type ProduceTransport,
  type RecordProducer,
  type RecordProducerOptions,
  type RecordSink,
  requestBatching,
  type TopicProducer,
  type TopicRecord,
} from './producer.ts';

/** Partition counts of the topics that exist; missing topics are absent from the map. */
export async function partitionCounts(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  // Listed but "unknown" a moment later is a topic created a moment ago: its metadata is still settling.
  return retryTransient(async () => {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    const counts = new Map<string, number>();
    if (present.length === 0) return counts;
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present });
    for (const topic of metadata) counts.set(topic.name, topic.partitions.length);
    return counts;
  });
}

export interface TopicToCreate {
  topic: string;
  partitions: number;
  retentionMs: number;
}

/**
 * Creates the topics that do not exist yet and waits until every one has a leader per partition; a
 * concurrent creator winning the race is fine. Not kafkajs's `waitForLeaders`: it gives up when a KRaft
 * broker answers "unknown topic" for a topic created a moment ago (metadata is published asynchronously).
 */
export async function createTopicsIfMissing(
  admin: Admin,
  topics: TopicToCreate[],
  options: TransientRetryOptions & { timeoutMs?: number } = {},
): Promise<string[]> {
  const existing = new Set(await retryTransient(() => admin.listTopics(), options));
  const missing = topics.filter(({ topic }) => !existing.has(topic));
  if (missing.length === 0) return [];
  // Safe to repeat: a topic an earlier try (or another process) created answers TOPIC_ALREADY_EXISTS,
  // which kafkajs reports as "nothing created" rather than an error.
  await retryTransient(
    () =>
      admin.createTopics({
        waitForLeaders: false,
        topics: missing.map(({ topic, partitions, retentionMs }) => ({
          topic,
          numPartitions: partitions,
          configEntries: [{ name: 'retention.ms', value: String(retentionMs) }],
        })),
      }),
    options,
  );
  await waitForTopicLeaders(admin, new Map(missing.map(({ topic, partitions }) => [topic, partitions])), options);
  return missing.map(({ topic }) => topic);
}

/** Protocol errors that mean "not yet" while topics are created or leaders elected, not "no". */
const transientTypes = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'REPLICA_NOT_AVAILABLE',
  'BROKER_NOT_AVAILABLE',
  'NOT_CONTROLLER',
  'REQUEST_TIMED_OUT',
]);
/** kafkajs's own errors for the same situations, and for its internal waits running out. */
const transientNames = new Set([
  'KafkaJSTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSBrokerNotFound',
]);
/** UNKNOWN_TOPIC_OR_PARTITION's text, for errors that kept the message but not the type. */
const transientMessage =
  /does not host this topic-partition|no leader for this topic-partition|not the leader for that topic-partition|not the correct controller/i;

/**
 * True when a Kafka error says the cluster's metadata has not caught up yet (a topic created a moment
 * ago, a leader being elected, a controller moving): trying again shortly can succeed. Looks through
 * kafkajs's wrappers (`cause`, the errors of an aggregate). Anything else — a refusal, a bad request,
 * authorisation — is not transient.
 */
export function isTransientMetadataError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { type, name, message, cause, errors } = error as {
    type?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof type === 'string' && transientTypes.has(type)) return true;
  if (typeof name === 'string' && transientNames.has(name)) return true;
  if (typeof message === 'string' && transientMessage.test(message)) return true;
  if (Array.isArray(errors) && errors.length > 0) {
    const transient = errors.map((item) => isTransientMetadataError(item, depth + 1));
    return transient.some(Boolean) && errors.every((item, index) => transient[index] || isAlreadyExists(item));
  }
  return cause !== undefined && cause !== error && isTransientMetadataError(cause, depth + 1);
}

function isAlreadyExists(error: unknown): boolean {
  return (error as { type?: unknown } | null)?.type === 'TOPIC_ALREADY_EXISTS';
}

export interface TransientRetryOptions {
  /** Tries in all, the first included. */
  attempts?: number;
  delayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (error: unknown, attempt: number) => void;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `work`, trying again after a short, growing pause while it fails with a transient metadata error. */
export async function retryTransient<T>(work: () => Promise<T>, options: TransientRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 20;
  const delayMs = options.delayMs ?? 100;
  const sleep = options.sleep ?? pause;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransientMetadataError(error)) throw error;
      options.onRetry?.(error, attempt);
      await sleep(Math.min(delayMs * attempt, 1_000));
    }
  }
}

/** Whether the metadata shows each topic with (at least) its partition count and a leader for every partition. */
export async function topicsHaveLeaders(admin: Admin, partitions: Map<string, number>): Promise<boolean> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [...partitions.keys()] });
  return [...partitions].every(([name, count]) => {
    const found = topics.find((topic) => topic.name === name)?.partitions ?? [];
    return found.length >= count && found.every((partition) => partition.leader >= 0);
  });
}

/**
 * Waits until the metadata shows each topic with (at least) its partition count and a leader for every
 * partition, so producers and consumers started right after find them. Transient errors are waited out.
 */
export async function waitForTopicLeaders(
  admin: Admin,
  partitions: Map<string, number>,
  options: { timeoutMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const sleep = options.sleep ?? pause;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      if (await topicsHaveLeaders(admin, partitions)) return;
      last = 'partitions or leaders missing';
    } catch (error) {
      if (!isTransientMetadataError(error)) throw error;
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`topics not ready after ${timeoutMs} ms (${last}): ${[...partitions.keys()].join(', ')}`);
    }
    await sleep(100);
  }
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
