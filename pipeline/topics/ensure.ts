import kafkajs, { type Admin } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { createKafka, waitForTopicLeaders } from '../kafka/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { type TopicSpec, topicName, topicSpec, topology } from './topology.ts';

// kafkajs's CommonJS exports hide this enum from named ESM imports.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

export interface EnsureReport {
  created: string[];
  /** Topics whose partition count was raised. */
  grown: string[];
  /** Topics whose cleanup policy or retention was changed back to the table's. */
  reconfigured: string[];
  /** Topics with more partitions than the table says (Kafka cannot lower a count; left alone). */
  larger: string[];
}

/** The topic configs the table owns; anything else on a topic is left to the operator. */
function managedConfigs(spec: TopicSpec): Record<string, string> {
  // A compacted state topic still forgets: compact keeps each key's last record, delete drops old segments.
  return {
    'cleanup.policy': spec.compacted ? 'compact,delete' : 'delete',
    'retention.ms': String(spec.retentionMs),
    ...(spec.segmentMs === undefined ? {} : { 'segment.ms': String(spec.segmentMs) }),
  };
}

/**
 * Creates the table's topics that are missing and brings existing ones in line: raises partition
 * counts and resets cleanup policy and retention. Idempotent; safe to run while the system runs.
 * `names` are logical names (default: the whole table).
 */
export async function ensureTopics(
  config: Config,
  names?: string[],
  options: { log?: Logger; admin?: Admin } = {},
): Promise<EnsureReport> {
  const log = options.log ?? createLogger(config, 'topics');
  const specs = names ? names.map(topicSpec) : [...topology];
  const admin = options.admin ?? createKafka(config, log).admin();
  if (!options.admin) await admin.connect();
  try {
    return await reconcile(admin, config, specs, log);
  } finally {
    if (!options.admin) await admin.disconnect();
  }
}

async function reconcile(admin: Admin, config: Config, specs: TopicSpec[], log: Logger): Promise<EnsureReport> {
  const report: EnsureReport = { created: [], grown: [], reconfigured: [], larger: [] };
  const wanted = new Map(specs.map((spec) => [topicName(config, spec.name), spec]));
  const existing = new Set(await admin.listTopics());
  const missing = [...wanted].filter(([topic]) => !existing.has(topic));
  const present = [...wanted].filter(([topic]) => existing.has(topic));

  if (missing.length > 0) {
    await admin.createTopics({
      // kafkajs's own wait gives up when the broker answers "unknown topic" for a topic it created a
      // moment ago (KRaft publishes metadata asynchronously); waitForTopics tolerates that.
      waitForLeaders: false,
      topics: missing.map(([topic, spec]) => ({
        topic,
        numPartitions: spec.partitions,
        // -1: the broker's default.replication.factor, so one table serves a single broker and a cluster.
        replicationFactor: -1,
        configEntries: Object.entries(managedConfigs(spec)).map(([name, value]) => ({ name, value })),
      })),
    });
    report.created.push(...missing.map(([topic]) => topic));
    await waitForTopics(admin, new Map(missing.map(([topic, spec]) => [topic, spec.partitions])));
  }
  if (present.length === 0) return logged(report, log);

  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present.map(([topic]) => topic) });
  const grow: { topic: string; count: number }[] = [];
  for (const { name, partitions } of metadata) {
    const spec = wanted.get(name)!;
    if (partitions.length < spec.partitions) grow.push({ topic: name, count: spec.partitions });
    else if (partitions.length > spec.partitions) report.larger.push(name);
  }
  if (grow.length > 0) {
    await admin.createPartitions({ topicPartitions: grow });
    report.grown.push(...grow.map(({ topic }) => topic));
    await waitForTopics(admin, new Map(grow.map(({ topic, count }) => [topic, count])));
  }

  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map(([topic, spec]) => ({
      type: ConfigResourceTypes.TOPIC,
      name: topic,
      configNames: Object.keys(managedConfigs(spec)),
    })),
  });
  const drifted = described.resources.filter((resource) => {
    const want = managedConfigs(wanted.get(resource.resourceName)!);
    // Set on the topic itself, not inherited: a broker default that happens to match today may not tomorrow.
    return Object.entries(want).some(([name, value]) => {
      const entry = resource.configEntries.find((item) => item.configName === name);
      return entry?.configValue !== value || entry.configSource !== ConfigSource.TOPIC_CONFIG;
    });
  });
  if (drifted.length > 0) {
    // kafkajs only has the legacy AlterConfigs, which replaces a topic's whole dynamic config: only
    // topics that drifted are touched, and the managed keys are the whole config msgxc sets.
    await admin.alterConfigs({
      validateOnly: false,
      resources: drifted.map((resource) => ({
        type: ConfigResourceTypes.TOPIC,
        name: resource.resourceName,
        configEntries: Object.entries(managedConfigs(wanted.get(resource.resourceName)!)).map(([name, value]) => ({
          name,
          value,
        })),
      })),
    });
    report.reconfigured.push(...drifted.map((resource) => resource.resourceName));
  }
  return logged(report, log);
}

/**
 * Waits until the metadata shows each topic with (at least) its partition count and a leader for
 * every partition, so producers and consumers started right after find them. The wait itself is
 * pipeline/kafka's, which also knows every transient "not yet" answer a KRaft broker gives.
 */
export function waitForTopics(admin: Admin, partitions: Map<string, number>, timeoutMs = 60_000): Promise<void> {
  return waitForTopicLeaders(admin, partitions, { timeoutMs });
}

function logged(report: EnsureReport, log: Logger): EnsureReport {
  for (const list of Object.values(report)) list.sort();
  if (report.larger.length > 0) {
    log.warn({ topics: report.larger }, 'topics have more partitions than the table says; Kafka cannot lower them');
  }
  log.info(
    { created: report.created, grown: report.grown, reconfigured: report.reconfigured },
    'topics match the table',
  );
  return report;
}
