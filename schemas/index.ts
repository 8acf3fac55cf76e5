import type avro from 'avsc';
import { avroSchemaOf, loadSchemas } from './load.ts';
import type { TopicSchemaName } from './types.generated.ts';

/**
 * The msgxc Avro schemas, parsed once per process. `topicSchemas` holds one avsc type per topic value
 * schema by Avro full name (`dev.msgxc.IngestRequest`); the TypeScript shapes of the same schemas are
 * re-exported from `types.generated.ts`.
 */

export { avroTypeOptions } from './logical.ts';
export * from './types.generated.ts';

const loaded = loadSchemas();

export const topicSchemas: ReadonlyMap<string, avro.Type> = loaded.topics;
export const namedTypes: ReadonlyMap<string, avro.Type> = loaded.named;

/** The avsc type of a topic value schema; throws for a name that is not one. */
export function schemaType(fullName: TopicSchemaName | string): avro.Type {
  const type = loaded.topics.get(fullName);
  if (!type) throw new Error(`unknown schema ${fullName}; known: ${[...loaded.topics.keys()].join(', ')}`);
  return type;
}

/** The self-contained schema JSON registered for a topic value schema. */
export function schemaJson(fullName: TopicSchemaName | string): string {
  return avroSchemaOf(schemaType(fullName));
}
