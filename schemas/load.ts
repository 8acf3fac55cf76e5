import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { avroTypeOptions } from './logical.ts';

/**
 * Reads the `.avsc` files and parses them with one shared avsc registry, so a schema refers to a
 * shared named type (`dev.msgxc.Channel`) or to another schema (`dev.msgxc.IngestRequest`) by its
 * full name instead of repeating it. What goes to the schema registry is the expanded, self-contained
 * form (`avroSchemaOf`), so a subject never depends on another subject.
 */

export const namespace = 'dev.msgxc';

/** Shared named types, in dependency order (later ones refer to earlier ones). */
export const sharedSchemaFiles = [
  'shared/Channel.avsc',
  'shared/Sender.avsc',
  'shared/TraceContext.avsc',
  'shared/WebPushSubscription.avsc',
  'shared/Device.avsc',
  'shared/Audience.avsc',
  'shared/Experiment.avsc',
] as const;

/** One schema per topic value, in dependency order. */
export const topicSchemaFiles = [
  'IngestRequest.avsc',
  'PrioritizedRequest.avsc',
  'FanoutJob.avsc',
  'DeliveryBatch.avsc',
  'DeliveryEvent.avsc',
  'Acknowledgement.avsc',
  'CheckIn.avsc',
  'AudienceChange.avsc',
  'StoredMessage.avsc',
  'RequestSighting.avsc',
] as const;

export interface LoadedSchemas {
  /** Topic value types by Avro full name, e.g. `dev.msgxc.IngestRequest`. */
  topics: ReadonlyMap<string, avro.Type>;
  /** Every named type (records, enums) by full name, shared and nested ones included. */
  named: ReadonlyMap<string, avro.Type>;
}

export const schemaDirectory = import.meta.dirname;

export function loadSchemas(directory: string = schemaDirectory): LoadedSchemas {
  const registry: Record<string, avro.Type> = {};
  const parse = (file: string) => {
    const raw: unknown = JSON.parse(readFileSync(join(directory, file), 'utf8'));
    try {
      return avro.Type.forSchema(raw as avro.Schema, { ...avroTypeOptions(), registry, namespace });
    } catch (error) {
      throw new Error(`schemas/${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  };
  for (const file of sharedSchemaFiles) parse(file);
  const topics = new Map<string, avro.Type>();
  for (const file of topicSchemaFiles) {
    const type = parse(file);
    if (!type.name) throw new Error(`schemas/${file}: a topic value schema must be a named record`);
    topics.set(type.name, type);
  }
  const named = new Map(
    Object.entries(registry)
      .filter(([name]) => name.includes('.'))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return { topics, named };
}

/** The self-contained schema (docs and logical types kept) as the JSON the registry stores. */
export function avroSchemaOf(type: avro.Type): string {
  return JSON.stringify(type.schema({ exportAttrs: true }));
}
