import { describe, expect, it } from 'vitest';
import { parseConfig } from '../pipeline/config/index.ts';
import {
  consumingStages,
  hasTopic,
  perInstanceStages,
  renderTopology,
  topicName,
  topicSpec,
  topicValueSchemas,
  topology,
} from '../pipeline/topics/index.ts';
import { topicSchemas } from '../schemas/index.ts';
import { stages } from '../stages/index.ts';

describe('topology', () => {
  it('names every topic once', () => {
    const names = topology.map((spec) => spec.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has the topics the contracts name', () => {
    for (const name of [
      'ingest',
      'lane.1',
      'lane.2',
      'lane.3',
      'lane.4',
      'fanout',
      'deliver.ws',
      'deliver.webpush',
      'deliver.apns',
      'deliver.fcm',
      'deliver.sms',
      'deliver.email',
      'deliver.ws.urgent',
      'deliver.webpush.urgent',
      'deliver.apns.urgent',
      'deliver.fcm.urgent',
      'deliver.sms.urgent',
      'deliver.email.urgent',
      'events',
      'acks',
      'checkins',
      'audience',
      'messages',
    ]) {
      expect(topicSpec(name).schema, name).not.toBeNull();
    }
  });

  it('gives every consuming stage a raw retry and dead-letter topic', () => {
    for (const stage of consumingStages) {
      expect(topicSpec(`${stage}.retry`).schema).toBeNull();
      expect(topicSpec(`${stage}.dlq`).schema).toBeNull();
    }
    // … and every stage that consumes a schema topic is such a stage.
    const consumers = topology.filter((spec) => spec.schema).flatMap((spec) => spec.consumers);
    const stages = new Set<string>(consumingStages);
    expect(consumers.filter((group) => !stages.has(group) && !/^(connect\.|spark|gateway)/.test(group))).toEqual([]);
  });

  it('lists every stage `msgxc run` knows with its failure topics: a dlq, and a retry topic unless per instance', () => {
    for (const stage of Object.keys(stages)) {
      const perInstance = perInstanceStages.includes(stage);
      expect(perInstance || consumingStages.includes(stage), stage).toBe(true);
      expect(topicSpec(`${stage}.dlq`).schema, stage).toBeNull();
      expect(hasTopic(`${stage}.retry`), stage).toBe(!perInstance);
      const reads = topology.filter((spec) => spec.consumers.some((group) => group.split(' ')[0] === stage));
      expect(reads.length, `${stage} reads a topic of the table`).toBeGreaterThan(0);
    }
  });

  it('points every Avro topic at a schema that exists', () => {
    for (const spec of topology) if (spec.schema) expect(topicSchemas.has(spec.schema), spec.name).toBe(true);
  });

  it('types every Avro topic with the schema the table gives it', () => {
    const fromTable = Object.fromEntries(
      topology.filter((spec) => spec.schema).map((spec) => [spec.name, spec.schema]),
    );
    expect(topicValueSchemas).toEqual(fromTable);
  });

  it('uses sane partition counts and retention', () => {
    for (const spec of topology) {
      expect(spec.partitions).toBeGreaterThanOrEqual(1);
      expect(spec.retentionMs).toBeGreaterThanOrEqual(3_600_000);
    }
  });

  it('prefixes Kafka names', () => {
    expect(topicName(parseConfig({ MSGXC_TOPIC_PREFIX: 'x.' }), 'lane.4')).toBe('x.msgxc.lane.4');
    expect(topicName(parseConfig({}), 'ingest')).toBe('msgxc.ingest');
    expect(() => topicSpec('nope')).toThrow(/unknown topic/);
  });

  it('renders one Markdown row per topic', () => {
    const lines = renderTopology().trim().split('\n');
    expect(lines).toHaveLength(topology.length + 2);
    expect(lines[2]).toMatch(/^\| `msgxc\.ingest` \| 6 \| 7 d \| delete \| requestId \| `IngestRequest` \|/);
  });
});
