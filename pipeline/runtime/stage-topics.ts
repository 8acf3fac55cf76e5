import type { Admin, KafkaMessage } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { permanent } from '../errors/index.ts';
import { createTopicsIfMissing, partitionCounts } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { urgencyRankOf } from '../topics/lanes.ts';
import { readPriorFailure } from './headers.ts';
import { deadLetterTopic, failureTopicLayout, kafkaTopicName, retryTopic } from './names.ts';
import type { OutboxTopics } from './outbox.ts';
import type { FailedRecord, PendingRecord } from './process.ts';
import type { StageDefinition } from './types.ts';

interface TopicPair {
  logical: string;
  kafka: string;
}

/** A stage's topics under both names: logical (the topology's) and Kafka's (with the prefix). */
export class StageTopics {
  readonly retry: TopicPair;
  readonly deadLetter: TopicPair;
  readonly outputs: ReadonlySet<string>;
  /** Kafka name → logical name of the declared inputs. */
  readonly inputs: ReadonlyMap<string, string>;
  readonly subscribed: string[];
  /**
   * One consumer per feed. A stage that reads urgency 4's own topics beside others (a delivery stage, the
   * gateway) reads them with a consumer of its own (group `<group>.urgent`): kafkajs works through a whole
   * fetch response before it fetches again, so in one consumer an urgent batch would wait behind a backlog.
   */
  readonly feeds: { groupSuffix: string; topics: string[] }[];

  readonly usesRetryTopic: boolean;
  private readonly config: Config;
  private readonly stage: StageDefinition<unknown, unknown>;

  constructor(config: Config, stage: StageDefinition<unknown, unknown>, usesRetryTopic: boolean) {
    this.config = config;
    this.stage = stage;
    this.usesRetryTopic = usesRetryTopic;
    this.retry = { logical: retryTopic(stage.name), kafka: this.kafkaName(retryTopic(stage.name)) };
    this.deadLetter = { logical: deadLetterTopic(stage.name), kafka: this.kafkaName(deadLetterTopic(stage.name)) };
    this.inputs = new Map(stage.input.map((logical) => [this.kafkaName(logical), logical]));
    this.outputs = new Set(stage.output);
    this.subscribed = [...this.inputs.keys(), ...(usesRetryTopic ? [this.retry.kafka] : [])];
    const urgent = stage.input.filter((logical) => urgencyRankOf(logical) === 2).map((t) => this.kafkaName(t));
    const rest = this.subscribed.filter((topic) => !urgent.includes(topic));
    const otherInputs = [...this.inputs.keys()].filter((topic) => !urgent.includes(topic));
    this.feeds =
      urgent.length === 0 || otherInputs.length === 0
        ? [{ groupSuffix: '', topics: this.subscribed }]
        : [
            { groupSuffix: '.urgent', topics: urgent },
            { groupSuffix: '', topics: rest },
          ];
  }

  kafkaName(logical: string): string {
    return kafkaTopicName(this.config, logical);
  }

  isRetry(kafkaTopic: string): boolean {
    return kafkaTopic === this.retry.kafka;
  }

  /** The metrics label of a consumed topic: its logical name. */
  label(kafkaTopic: string): string {
    return this.isRetry(kafkaTopic) ? this.retry.logical : (this.inputs.get(kafkaTopic) ?? kafkaTopic);
  }

  outbox(): OutboxTopics {
    return {
      stage: this.stage.name,
      retry: this.retry,
      deadLetter: this.deadLetter,
    };
  }

  /**
   * Inputs and outputs must exist (`msgxc topics` creates them); the retry and dead-letter topics are created
   * when missing, with the topology's layout or else the input's partition count.
   */
  async ensure(admin: Admin, log: Logger): Promise<void> {
    const declared = [...new Set([...this.inputs.keys(), ...this.stage.output.map((t) => this.kafkaName(t))])];
    const counts = await partitionCounts(admin, declared);
    const missing = declared.filter((topic) => !counts.has(topic));
    if (missing.length > 0) {
      const hint = '`msgxc topics` creates the topology';
      throw permanent('TOPIC_MISSING', `stage ${this.stage.name}: missing topics ${missing.join(', ')} (${hint})`);
    }
    const partitions = Math.max(1, ...[...this.inputs.keys()].map((topic) => counts.get(topic) ?? 1));
    const layout = (pair: TopicPair) => ({ topic: pair.kafka, ...failureTopicLayout(pair.logical, partitions) });
    const created = await createTopicsIfMissing(admin, [
      ...(this.usesRetryTopic ? [layout(this.retry)] : []),
      layout(this.deadLetter),
    ]);
    if (created.length > 0) log.info({ topics: created }, 'created retry and dead-letter topics');
  }

  /**
   * A consumed message as the chunk processor sees it. A retry-topic record goes back under the input topic
   * it first came from (its headers say which), with its attempts so far; one whose headers are missing or
   * name a topic this stage does not read is dead-lettered at once.
   */
  toPending(message: KafkaMessage, topic: string, partition: number): PendingRecord | FailedRecord {
    if (!this.isRetry(topic)) {
      return {
        message,
        topic: this.inputs.get(topic) ?? topic,
        source: { topic, partition, offset: message.offset },
        priorAttempts: 0,
      };
    }
    const prior = readPriorFailure(message.headers);
    const logical = prior ? this.inputs.get(prior.source.topic) : undefined;
    const record = {
      message,
      topic: logical ?? this.retry.logical,
      source: prior?.source ?? { topic, partition, offset: message.offset },
      priorAttempts: prior?.attempt ?? 0,
    };
    if (prior && logical) return record;
    const failure = prior
      ? { code: 'RETRY_SOURCE_UNKNOWN', message: `no input topic ${prior.source.topic} on stage ${this.stage.name}` }
      : { code: 'RETRY_HEADERS_MISSING', message: 'a retry-topic record without the runtime headers' };
    return { record, failure: { ...failure, retriable: false }, destination: 'dlq', attempt: record.priorAttempts + 1 };
  }
}
