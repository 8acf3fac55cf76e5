import { ChannelSymbols } from '../../schemas/types.generated.ts';
import type { Config } from '../config/index.ts';

/**
 * Every Kafka topic msgxc uses, in one table: `msgxc topics` creates or updates them from it, the
 * serde finds each topic's value schema in it, and the README shows it (`msgxc topics --print`).
 *
 * Choices worth knowing:
 * - The hot path (ingest, lanes, fanout, deliver.*, events) has 6 partitions so up to 6 consumers per
 *   stage share the work; the rest have 3. Partitions can be raised later (keys then move, which only
 *   matters for ordering of in-flight records), never lowered.
 * - Only `prioritize.sightings` is compacted (and deleted after its retention): the de-dup state of
 *   prioritize, one record per request id, restored by the member given an ingest partition (Kafka Streams'
 *   changelog). Every other topic carries facts in time order (requests, jobs, outcomes,
 *   changes), not "latest state per key": the latest state of a user, device, thread or message lives
 *   in Cassandra, the source of truth, and the audience index is rebuilt from Cassandra (`msgxc
 *   reindex`), not from the audience topic. Compacting `audience` would also need a tombstone and a
 *   single key per fact (a user's subscribe and enlist are different facts with the same uid key), so
 *   it stays delete + retention.
 * - Retention is the replay window: a week for the pipeline, a month for events and messages (what
 *   reports and the Cassandra sinks read) and for dead letters (time for a person to look).
 * - `<stage>.retry` holds records waiting for a delayed retry and `<stage>.dlq` those given up on;
 *   both carry the failed record's bytes unchanged (no schema) with the reason in headers. A stage with a
 *   consumer group per instance (the gateway) has only `<stage>.dlq`. The names are the stage names of
 *   `msgxc run` (stages/index.ts), which the runtime derives the topics from.
 */

export interface TopicSpec {
  /** Logical name; the Kafka topic is `${topicPrefix}msgxc.<name>`. */
  name: string;
  partitions: number;
  retentionMs: number;
  compacted: boolean;
  /**
   * How often a segment rolls. A compacted topic with retention forgets a record only once its segment is
   * closed and older than the retention, so state topics roll hourly instead of at the broker's week.
   */
  segmentMs?: number;
  /** Avro full name of the value, null for raw bytes (retry and dead-letter topics). */
  schema: string | null;
  /** What the record key is, which decides ordering and partitioning. */
  key: string;
  producers: string[];
  /** Consumer groups (stage names) reading the topic. */
  consumers: string[];
  description: string;
}

const hour = 3_600_000;
const day = 24 * hour;

/** Every channel has a delivery topic: the Avro `dev.msgxc.Channel` symbols. */
export const channels = ChannelSymbols;
export const urgencies = [1, 2, 3, 4] as const;

/**
 * Stages that consume topics in one shared consumer group each (`msgxc.<stage>`), by the names
 * `msgxc run` knows them (stages/index.ts), each with its own delayed-retry and dead-letter topic.
 * Triage runs one stage per lane, so a lane's backlog never holds up another's.
 */
export const consumingStages: readonly string[] = [
  'prioritize',
  ...urgencies.map((urgency) => `triage.lane${urgency}`),
  'fanout.urgent',
  'fanout',
  'fanout.bulk',
  ...channels.map((channel) => `deliver.${channel}`),
  'ack',
  'audience',
];

/**
 * Stages with a consumer group per process (`msgxc.<stage>.<instance>`, reading from the latest offset):
 * broadcast feeds such as the WebSocket gateway's. A dead-letter topic but no retry topic: every instance
 * would replay a shared one (the runtime retries them in-process only).
 */
export const perInstanceStages: readonly string[] = ['gateway'];

const hot = 6;
const cool = 3;

const pipelineTopics: TopicSpec[] = [
  {
    name: 'ingest',
    partitions: hot,
    retentionMs: 7 * day,
    compacted: false,
    schema: 'dev.msgxc.IngestRequest',
    key: 'requestId',
    producers: ['api', 'services'],
    consumers: ['prioritize'],
    description: 'requests to send a message, from the HTTP facade and internal services',
  },
  {
    // Kafka Streams' changelog pattern: prioritize's de-dup state is local to the ingest partition it belongs to.
    name: 'prioritize.sightings',
    partitions: hot,
    retentionMs: 2 * day,
    compacted: true,
    segmentMs: hour,
    schema: 'dev.msgxc.RequestSighting',
    key: 'requestId',
    producers: ['prioritize'],
    // Read back by offset, outside any consumer group, by the prioritize member given the ingest partition.
    consumers: [],
    description:
      "the ingest record that first carried each request id: prioritize's de-duplication state, read back by the member given the partition",
  },
  ...urgencies.map(
    (urgency): TopicSpec => ({
      name: `lane.${urgency}`,
      partitions: hot,
      retentionMs: 7 * day,
      compacted: false,
      schema: 'dev.msgxc.PrioritizedRequest',
      key: 'requestId',
      producers: ['prioritize', 'scheduler'],
      consumers: [`triage.lane${urgency}`],
      description: `validated requests of urgency ${urgency}; triage reserves capacity per lane`,
    }),
  ),
  // One topic per fanout lane (stages/fanout/lanes.ts): a huge low-urgency job never delays an urgent one.
  ...(
    [
      ['fanout.urgent', 'urgency 4'],
      ['fanout', 'urgency 3'],
      ['fanout.bulk', 'urgency 1 and 2'],
    ] as const
  ).map(
    ([name, urgency]): TopicSpec => ({
      name,
      partitions: hot,
      retentionMs: 7 * day,
      compacted: false,
      schema: 'dev.msgxc.FanoutJob',
      key: 'messageId (messageId/slice for slices)',
      producers: ['triage', name],
      consumers: [name],
      description: `stored messages of ${urgency} with their audience and delivery plan`,
    }),
  ),
  ...channels.map(
    (channel): TopicSpec => ({
      name: `deliver.${channel}`,
      partitions: hot,
      retentionMs: 3 * day,
      compacted: false,
      schema: 'dev.msgxc.DeliveryBatch',
      key: 'batchId',
      producers: ['fanout', 'ack'],
      consumers: channel === 'ws' ? ['deliver.ws', 'gateway (a group per instance)'] : [`deliver.${channel}`],
      description: `delivery batches for ${channel}, sized for the provider's batch API`,
    }),
  ),
  // Urgency 4 only (lanes.ts): a broadcast's batches on deliver.<channel> never sit in front of these.
  ...channels.map(
    (channel): TopicSpec => ({
      name: `deliver.${channel}.urgent`,
      partitions: cool,
      retentionMs: 3 * day,
      compacted: false,
      schema: 'dev.msgxc.DeliveryBatch',
      key: 'batchId',
      producers: ['fanout.urgent', 'ack'],
      consumers: channel === 'ws' ? ['deliver.ws', 'gateway (a group per instance)'] : [`deliver.${channel}`],
      description: `delivery batches of urgency 4 for ${channel}, read before deliver.${channel}`,
    }),
  ),
  {
    name: 'events',
    partitions: hot,
    retentionMs: 30 * day,
    compacted: false,
    schema: 'dev.msgxc.DeliveryEvent',
    key: 'messageId (requestId before one exists)',
    producers: [
      'prioritize',
      'scheduler',
      'triage',
      'fanout',
      ...channels.map((channel) => `deliver.${channel}`),
      'ack',
      'gateway',
    ],
    consumers: ['ack', 'connect.events', 'spark'],
    description: 'what became of every message and delivery; source of the reports',
  },
  {
    name: 'acks',
    partitions: cool,
    retentionMs: 7 * day,
    compacted: false,
    schema: 'dev.msgxc.Acknowledgement',
    key: 'messageId',
    producers: ['api', 'gateway'],
    consumers: ['ack'],
    description: 'receipts and engagement from clients',
  },
  {
    name: 'checkins',
    partitions: cool,
    retentionMs: 7 * day,
    compacted: false,
    schema: 'dev.msgxc.CheckIn',
    key: 'sessionId',
    producers: ['gateway'],
    consumers: ['ack'],
    description: 'WebSocket connect, heartbeat and disconnect',
  },
  {
    name: 'audience',
    partitions: cool,
    retentionMs: 7 * day,
    compacted: false,
    schema: 'dev.msgxc.AudienceChange',
    key: 'uid',
    // The delivery stages remove devices their provider declared dead (token pruning).
    producers: ['api', 'deliver.webpush', 'deliver.apns', 'deliver.fcm'],
    consumers: ['audience'],
    description: 'changes to users, devices, subscriptions and preferences, applied to the audience index',
  },
  {
    name: 'messages',
    partitions: cool,
    retentionMs: 30 * day,
    compacted: false,
    schema: 'dev.msgxc.StoredMessage',
    key: 'tid (messageId without a thread)',
    producers: ['triage'],
    consumers: ['connect.messages', 'spark'],
    description: 'messages as stored, for the Cassandra sink and reports',
  },
];

const deadLetterTopic = (stage: string): TopicSpec => ({
  name: `${stage}.dlq`,
  partitions: cool,
  retentionMs: 30 * day,
  compacted: false,
  schema: null,
  key: 'the failed record key',
  producers: [stage],
  consumers: [],
  description: `records ${stage} gave up on (bytes unchanged; stage, error, attempt and source in headers)`,
});

const failureTopics: TopicSpec[] = [
  ...consumingStages.flatMap((stage): TopicSpec[] => [
    {
      name: `${stage}.retry`,
      partitions: cool,
      retentionMs: 7 * day,
      compacted: false,
      schema: null,
      key: 'the failed record key',
      producers: [stage],
      consumers: [stage],
      description: `records ${stage} will retry after a delay (bytes unchanged, reason in headers)`,
    },
    deadLetterTopic(stage),
  ]),
  ...perInstanceStages.map(deadLetterTopic),
];

export const topology: readonly TopicSpec[] = Object.freeze([...pipelineTopics, ...failureTopics]);

const byName = new Map(topology.map((spec) => [spec.name, spec]));

/** The Kafka topic name of a logical topic. */
export function topicName(config: Pick<Config, 'kafka'>, logical: string): string {
  return `${config.kafka.topicPrefix}msgxc.${logical}`;
}

/** The table row of a logical topic; throws for a name the table does not have. */
export function topicSpec(logical: string): TopicSpec {
  const spec = byName.get(logical);
  if (!spec) throw new Error(`unknown topic ${logical}; see pipeline/topics/topology.ts`);
  return spec;
}

export function hasTopic(logical: string): boolean {
  return byName.has(logical);
}

function duration(ms: number): string {
  return ms % day === 0 ? `${ms / day} d` : `${ms / hour} h`;
}

/** The table as Markdown, for the README (`msgxc topics --print`). */
export function renderTopology(specs: readonly TopicSpec[] = topology): string {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    row(['topic', 'partitions', 'retention', 'cleanup', 'key', 'value', 'producers', 'consumer groups', 'what']),
    row(['---', '---:', '---:', '---', '---', '---', '---', '---', '---']),
  ];
  for (const spec of specs) {
    lines.push(
      row([
        `\`msgxc.${spec.name}\``,
        String(spec.partitions),
        duration(spec.retentionMs),
        spec.compacted ? 'compact' : 'delete',
        spec.key,
        spec.schema ? `\`${spec.schema.replace(/^dev\.msgxc\./, '')}\`` : 'raw bytes',
        spec.producers.join(', '),
        spec.consumers.join(', ') || '—',
        spec.description,
      ]),
    );
  }
  return `${lines.join('\n')}\n`;
}
