import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../pipeline/config/index.ts';
import { schemaJson } from '../schemas/index.ts';
import { connectorConfig, connectorName, deadLetterTopic, loadSinks, registryV2Url } from './declarations.ts';

const migration = readFileSync(
  join(import.meta.dirname, '..', 'pipeline', 'cassandra', 'migrations', '009_reporting.cql'),
  'utf8',
);

/** Column names of a table in migration 009, read from its CREATE TABLE. */
function tableColumns(table: string): string[] {
  const body = new RegExp(`CREATE TABLE IF NOT EXISTS ${table} \\(([\\s\\S]*?)PRIMARY KEY`).exec(migration)?.[1];
  if (!body) throw new Error(`no table ${table} in 009_reporting.cql`);
  return [...body.matchAll(/^\s+([a-z_]+) [a-z<>]+,/gm)].map((match) => match[1]!);
}

const fieldsOf = (fullName: string) =>
  (JSON.parse(schemaJson(fullName)) as { fields: { name: string; type: unknown }[] }).fields.map((f) => f.name);

describe('sink declarations', () => {
  const sinks = loadSinks();
  const schemaOfTopic: Record<string, string> = {
    events: 'dev.msgxc.DeliveryEvent',
    messages: 'dev.msgxc.StoredMessage',
  };

  it('declare the four reporting sinks', () => {
    expect(sinks.map((sink) => `${sink.topic}→${sink.table}`)).toEqual([
      'events→events_by_day',
      'events→events_by_message',
      'events→events_by_user',
      'messages→message_archive',
    ]);
  });

  for (const sink of sinks) {
    it(`${sink.name} maps every column of ${sink.table} from a field of its topic's schema`, () => {
      expect(Object.keys(sink.columns).sort()).toEqual(tableColumns(sink.table).sort());
      const fields = fieldsOf(schemaOfTopic[sink.topic]!);
      for (const expression of Object.values(sink.columns)) {
        const path = expression.replace(/^(day|hour)\((.*)\)$/, '$2');
        expect(fields, expression).toContain(path.split('.')[0]);
      }
      for (const column of sink.skipWhenNull) expect(Object.keys(sink.columns)).toContain(column);
    });
  }

  it('become connector configurations for the configured clusters', () => {
    const config = parseConfig({ MSGXC_TOPIC_PREFIX: 'x.', MSGXC_CASSANDRA_KEYSPACE: 'reports' });
    const sink = sinks.find((candidate) => candidate.name === 'events-by-day')!;
    const connect = connectorConfig(config, sink);
    expect(connectorName(config, sink)).toBe('x.msgxc-events-by-day');
    expect(connect.topics).toBe('x.msgxc.events');
    expect(connect['errors.deadletterqueue.topic.name']).toBe(deadLetterTopic(config, sink));
    expect(connect['errors.deadletterqueue.topic.name']).toBe('x.msgxc.connect.events-by-day.dlq');
    expect(connect['value.converter.apicurio.registry.url']).toBe('http://127.0.0.1:8081/apis/registry/v2');
    expect(connect['cassandra.keyspace']).toBe('reports');
    expect(connect.columns).toContain('day=day(at),hour=hour(at)');
  });

  it('point the converter at the registry v2 API whatever the ccompat URL', () => {
    expect(registryV2Url({ registry: { url: 'https://reg.example/apis/ccompat/v7' } })).toBe(
      'https://reg.example/apis/registry/v2',
    );
  });
});
