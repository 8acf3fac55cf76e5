import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import { createSerde, registerSchemas, schemaIdOf, subjectOf } from '../../pipeline/serde/index.ts';
import { waitForTopics } from '../../pipeline/topics/ensure.ts';
import { ensureTopics, topicName, topicSpec, topology } from '../../pipeline/topics/index.ts';
import { fullExamples, minimalExamples } from '../../schemas/examples.ts';
import { deleteSubjects, deleteTopics, uniqueConfig } from './support.ts';

const { ConfigResourceTypes } = kafkajs;

let config: Config;
let admin: Admin;

beforeAll(async () => {
  config = uniqueConfig();
  admin = createKafka(config).admin();
  await admin.connect();
});

afterAll(async () => {
  await admin.disconnect();
  await deleteTopics(config);
  await deleteSubjects(config);
});

/** Kafka's default segment roll (log.roll.hours = 168), which the local stack keeps. */
const brokerSegmentMs = 7 * 24 * 3_600_000;

async function describeTopics(topics: string[]) {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: ['cleanup.policy', 'retention.ms', 'segment.ms'],
    })),
  });
  return new Map(
    topics.map((topic) => {
      const entries = resources.find((resource) => resource.resourceName === topic)!.configEntries;
      const value = (name: string) => entries.find((entry) => entry.configName === name)?.configValue;
      return [
        topic,
        {
          partitions: metadata.find((item) => item.name === topic)!.partitions.length,
          cleanup: value('cleanup.policy'),
          retention: Number(value('retention.ms')),
          segment: Number(value('segment.ms')),
        },
      ];
    }),
  );
}

describe('ensureTopics', () => {
  it('creates every topic of the table as the table says', async () => {
    const report = await ensureTopics(config);
    const expected = topology.map((spec) => topicName(config, spec.name));
    expect(report.created.sort()).toEqual([...expected].sort());

    const actual = await describeTopics(expected);
    for (const spec of topology) {
      expect(actual.get(topicName(config, spec.name)), spec.name).toEqual({
        partitions: spec.partitions,
        // A compacted state topic still forgets after its retention, its segments rolling often enough to.
        cleanup: spec.compacted ? 'compact,delete' : 'delete',
        retention: spec.retentionMs,
        segment: spec.segmentMs ?? brokerSegmentMs,
      });
    }
  });

  it('is idempotent: a second run changes nothing', async () => {
    expect(await ensureTopics(config)).toEqual({ created: [], grown: [], reconfigured: [], larger: [] });
  });

  it('raises partition counts and restores drifted configs of existing topics', async () => {
    // A run of its own, so no topic has to be deleted and re-created (deletion is asynchronous).
    const other = uniqueConfig();
    try {
      // A topic created earlier, by hand, with fewer partitions than the table asks for …
      const small = topicName(other, 'lane.4');
      await admin.createTopics({ waitForLeaders: false, topics: [{ topic: small, numPartitions: 2 }] });
      await waitForTopics(admin, new Map([[small, 2]]));
      // … and one whose configs were changed by hand after msgxc created it.
      const drifted = topicName(other, 'acks');
      await ensureTopics(other, ['acks']);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: drifted,
            configEntries: [
              { name: 'retention.ms', value: '60000' },
              { name: 'cleanup.policy', value: 'compact' },
            ],
          },
        ],
      });

      const report = await ensureTopics(other, ['acks', 'lane.4']);
      expect(report).toEqual({ created: [], grown: [small], reconfigured: [drifted, small].sort(), larger: [] });
      const wanted = {
        [drifted]: {
          partitions: 3,
          cleanup: 'delete',
          retention: topicSpec('acks').retentionMs,
          segment: brokerSegmentMs,
        },
        [small]: {
          partitions: 6,
          cleanup: 'delete',
          retention: topicSpec('lane.4').retentionMs,
          segment: brokerSegmentMs,
        },
      };
      expect(Object.fromEntries(await describeTopics([drifted, small]))).toEqual(wanted);
      expect(await ensureTopics(other, ['acks', 'lane.4'])).toEqual({
        created: [],
        grown: [],
        reconfigured: [],
        larger: [],
      });
    } finally {
      await deleteTopics(other);
    }
  });
});

describe('Avro records through Kafka', () => {
  it('decode equal after a trip through a topic, carrying the schema id the registry assigned', async () => {
    const ids = await registerSchemas(config);
    const serde = createSerde(config);
    const cases = [
      {
        logical: 'ingest',
        values: [fullExamples['dev.msgxc.IngestRequest'], minimalExamples['dev.msgxc.IngestRequest']],
      },
      { logical: 'deliver.webpush', values: [fullExamples['dev.msgxc.DeliveryBatch']] },
      {
        logical: 'events',
        values: [fullExamples['dev.msgxc.DeliveryEvent'], minimalExamples['dev.msgxc.DeliveryEvent']],
      },
    ];
    const kafka = createKafka(config);
    const producer = kafka.producer(producerConfig);
    await producer.connect();
    try {
      await producer.sendBatch({
        topicMessages: await Promise.all(
          cases.map(async ({ logical, values }) => ({
            topic: topicName(config, logical),
            messages: await Promise.all(
              values.map(async (value, index) => ({ key: `k${index}`, value: await serde.encode(logical, value) })),
            ),
          })),
        ),
      });
    } finally {
      await producer.disconnect();
    }

    const expected = cases.reduce((sum, { values }) => sum + values.length, 0);
    const received: { topic: string; key: string; value: Buffer }[] = [];
    const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}contracts` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: cases.map(({ logical }) => topicName(config, logical)), fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ topic, message }) => {
              received.push({ topic, key: message.key!.toString(), value: message.value! });
              if (received.length >= expected) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }

    expect(received).toHaveLength(expected);
    for (const { logical, values } of cases) {
      const topic = topicName(config, logical);
      const records = received.filter((record) => record.topic === topic).sort((a, b) => a.key.localeCompare(b.key));
      expect(records).toHaveLength(values.length);
      for (const [index, record] of records.entries()) {
        expect(schemaIdOf(record.value)).toBe(ids.get(subjectOf(topic)));
        const decoded = await serde.decode(record.value);
        expect(decoded).toMatchObject(values[index] as object);
        if (index === 0) expect(decoded).toEqual(values[index]);
      }
    }
  });
});
