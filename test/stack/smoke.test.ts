import { randomUUID } from 'node:crypto';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Client as OpenSearch } from '@opensearch-project/opensearch';
import cassandra from 'cassandra-driver';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../pipeline/config/index.ts';

/** Each server of the stack is real: these talk to it the way msgxc will. */
const config = loadConfig();
const suffix = randomUUID().slice(0, 8);

describe('the local stack', () => {
  it('Kafka and the registry carry an Avro record, its schema id assigned by the registry', async () => {
    const registry = new SchemaRegistry({ host: config.registry.url });
    const topic = `smoke-${suffix}`;
    const schema = {
      type: 'record',
      name: 'Smoke',
      namespace: `dev.msgxc.smoke${suffix}`,
      fields: [
        { name: 'id', type: 'string' },
        { name: 'n', type: 'long' },
      ],
    };
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: `${topic}-value` },
    );
    const subjects = (await (await fetch(`${config.registry.url}/subjects`)).json()) as string[];
    expect(subjects).toContain(`${topic}-value`);
    const fetched = (await (await fetch(`${config.registry.url}/schemas/ids/${id}`)).json()) as { schema: string };
    expect(JSON.parse(fetched.schema).name).toBe('Smoke');

    const kafka = new Kafka({ brokers: config.kafka.brokers, clientId: 'smoke', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const value = await registry.encode(id, { id: 'a', n: 42 });
    await producer.send({ topic, messages: [{ key: 'a', value }], acks: -1 });

    const consumer = kafka.consumer({ groupId: `smoke-${suffix}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ schemaId: number; value: unknown }>((resolvePromise) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const bytes = message.value!;
          resolvePromise({ schemaId: bytes.readInt32BE(1), value: await registry.decode(bytes) });
        },
      });
    });
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
    expect(received.schemaId).toBe(id);
    expect(received.value).toEqual({ id: 'a', n: 42 });
  });

  it('Cassandra creates a keyspace and a table, inserts and selects', async () => {
    const client = new cassandra.Client({
      contactPoints: config.cassandra.contactPoints,
      localDataCenter: config.cassandra.localDataCenter,
    });
    const keyspace = `smoke_${suffix}`;
    try {
      await client.execute(
        `CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
      );
      await client.execute(`CREATE TABLE ${keyspace}.things (id text PRIMARY KEY, n int)`);
      await client.execute(`INSERT INTO ${keyspace}.things (id, n) VALUES (?, ?)`, ['a', 7], { prepare: true });
      const result = await client.execute(`SELECT n FROM ${keyspace}.things WHERE id = ?`, ['a'], { prepare: true });
      expect(result.first()?.get('n')).toBe(7);
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
      await client.shutdown();
    }
  });

  it('the search engine indexes a document and a search finds it', async () => {
    const client = new OpenSearch({ node: config.search.url });
    const index = `smoke-${suffix}`;
    try {
      await client.indices.create({
        index,
        body: { mappings: { dynamic: 'strict', properties: { uid: { type: 'keyword' }, text: { type: 'text' } } } },
      });
      await client.index({ index, id: 'u1', body: { uid: 'u1', text: 'incoming call alert' }, refresh: true });
      const result = await client.search({ index, body: { query: { match: { text: 'alert' } } } });
      expect(result.body.hits.hits.map((hit) => hit._id)).toEqual(['u1']);
    } finally {
      await client.indices.delete({ index, ignore_unavailable: true });
      await client.close();
    }
  });
});
