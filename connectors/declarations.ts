import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../pipeline/config/index.ts';
import { MsgxcError } from '../pipeline/errors/index.ts';
import { topicName } from '../pipeline/topics/topology.ts';

/**
 * A sink declaration (connectors/sinks/*.json): one topic into one Cassandra table, record fields
 * (or day()/hour() of a timestamp field) to columns. `connectorConfig` turns it into the Kafka
 * Connect configuration of the project's Java connector for the configured clusters.
 */
export const sinkDeclaration = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  description: z.string(),
  topic: z.string(),
  table: z.string().regex(/^[a-z][a-z0-9_]*$/),
  tasksMax: z.number().int().min(1),
  columns: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.string().regex(/^([a-z]+\()?[A-Za-z0-9_.]+\)?$/)),
  skipWhenNull: z.array(z.string()),
});

export type SinkDeclaration = z.infer<typeof sinkDeclaration>;

export const sinksDirectory = join(import.meta.dirname, 'sinks');
export const sinkConnectorClass = 'dev.msgxc.connect.cassandra.CassandraSinkConnector';
const apicurioConverter = 'io.apicurio.registry.utils.converter.AvroConverter';

export function loadSinks(directory = sinksDirectory): SinkDeclaration[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const parsed = sinkDeclaration.safeParse(JSON.parse(readFileSync(join(directory, file), 'utf8')));
      if (!parsed.success) {
        throw new MsgxcError('SINK_DECLARATION_INVALID', `${file}: ${z.prettifyError(parsed.error)}`);
      }
      return parsed.data;
    });
}

/** Connector names carry the topic prefix, so isolated runs (tests) get their own connectors and groups. */
export const connectorName = (config: Pick<Config, 'kafka'>, sink: SinkDeclaration) =>
  `${config.kafka.topicPrefix}msgxc-${sink.name}`;

export const deadLetterTopic = (config: Pick<Config, 'kafka'>, sink: SinkDeclaration) =>
  topicName(config, `connect.${sink.name}.dlq`);

/**
 * Apicurio's converter speaks the registry's own v2 API; the pipeline's serde the Confluent-compatible
 * one on the same server. Both number schemas by content id, which is what the wire format carries.
 */
export function registryV2Url(config: Pick<Config, 'registry'>): string {
  return config.registry.url.replace(/\/apis\/ccompat\/v\d+\/?$/, '/apis/registry/v2');
}

export function connectorConfig(
  config: Pick<Config, 'kafka' | 'registry' | 'cassandra' | 'connect'>,
  sink: SinkDeclaration,
): Record<string, string> {
  return {
    'connector.class': sinkConnectorClass,
    'tasks.max': String(sink.tasksMax),
    topics: topicName(config, sink.topic),
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': apicurioConverter,
    'value.converter.apicurio.registry.url': registryV2Url(config),
    'value.converter.apicurio.registry.as-confluent': 'true',
    'value.converter.apicurio.registry.use-id': 'contentId',
    // A record that cannot be decoded or written goes to the DLQ with the reason in its headers.
    'errors.tolerance': 'all',
    'errors.log.enable': 'true',
    'errors.deadletterqueue.topic.name': deadLetterTopic(config, sink),
    'errors.deadletterqueue.topic.replication.factor': String(config.connect.replication),
    'errors.deadletterqueue.context.headers.enable': 'true',
    'consumer.override.max.poll.records': '2000',
    'cassandra.contact.points': config.cassandra.contactPoints.join(','),
    'cassandra.local.datacenter': config.cassandra.localDataCenter,
    'cassandra.keyspace': config.cassandra.keyspace,
    'cassandra.table': sink.table,
    columns: Object.entries(sink.columns)
      .map(([column, expression]) => `${column}=${expression}`)
      .join(','),
    'skip.when.null': sink.skipWhenNull.join(','),
  };
}
