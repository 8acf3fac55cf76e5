import { type SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { schemaJson, schemaType, topicSchemas } from '../../schemas/index.ts';
import type { Config } from '../config/index.ts';
import { illFormedPath } from '../contract/text.ts';
import { MsgxcError, permanent } from '../errors/index.ts';
import { hasTopic, topicName, topicSpec } from '../topics/topology.ts';

/** How long a schema id the registry answered 404 for is remembered as unknown. */
const UNKNOWN_ID_MEMORY_MS = 30_000;

import { createRegistryClient, registerSubject, registryError, registryStatus, subjectOf } from './registry.ts';

export { registerSchemas, subjectOf } from './registry.ts';

/**
 * Avro values in Confluent's wire format (magic byte 0, 4-byte big-endian schema id, Avro binary),
 * through the schema registry. `encode` validates against the topic's schema from the topology
 * table; `decode` reads any msgxc record by the schema id in its bytes and, when the writer's record
 * is one msgxc knows, resolves it into the local schema so older records gain the newer defaults.
 */
export interface Serde {
  encode(logicalTopic: string, value: unknown): Promise<Buffer>;
  decode(buffer: Buffer): Promise<unknown>;
}

const magicByte = 0;
const headerLength = 5;

/** The schema id in a wire-format record, or null when the bytes are not in that format. */
export function schemaIdOf(buffer: Buffer): number | null {
  return buffer.length >= headerLength && buffer[0] === magicByte ? buffer.readInt32BE(1) : null;
}

export function createSerde(config: Config, options: { registry?: SchemaRegistry } = {}): Serde {
  const registry = options.registry ?? createRegistryClient(config);
  const ids = new Map<string, Promise<number>>(); // subject → id, the promise shared by concurrent callers
  const readers = new Map<number, Promise<(payload: Buffer) => unknown>>(); // schema id → reader

  const idFor = (subject: string, fullName: string): Promise<number> => {
    let id = ids.get(subject);
    if (!id) {
      id = lookupOrRegister(config, registry, subject, schemaJson(fullName));
      ids.set(subject, id);
      // A failure is not cached: the next record asks the registry again.
      id.catch(() => ids.delete(subject));
    }
    return id;
  };

  const readerFor = (id: number): Promise<(payload: Buffer) => unknown> => {
    let reader = readers.get(id);
    if (!reader) {
      reader = buildReader(registry, id);
      readers.set(id, reader);
      // An outage is retried at the next record; an id the registry does not know is remembered for a while,
      // so a flood of records naming one (poison) costs one registry request, not one each. Not for ever:
      // the id may be assigned to a schema registered later.
      reader.catch((error: unknown) => {
        const unknownId = error instanceof MsgxcError && error.code === 'UNDECODABLE';
        if (!unknownId) readers.delete(id);
        else setTimeout(() => readers.delete(id), UNKNOWN_ID_MEMORY_MS).unref();
      });
    }
    return reader;
  };

  return {
    async encode(logicalTopic, value) {
      if (!hasTopic(logicalTopic)) throw permanent('UNKNOWN_TOPIC', `no topic ${logicalTopic} in the topology table`);
      const fullName = topicSpec(logicalTopic).schema;
      if (!fullName) throw permanent('NO_SCHEMA', `topic ${logicalTopic} carries raw bytes, not Avro`);
      const type = schemaType(fullName);
      const violations = validate(type, value);
      if (violations.length > 0) {
        throw permanent(
          'SCHEMA_VIOLATION',
          `value for ${logicalTopic} does not fit ${fullName} at ${violations.map((v) => v.path || '(root)').join(', ')}`,
          { topic: logicalTopic, schema: fullName, path: violations[0]!.path, violations },
        );
      }
      // A lone surrogate has no UTF-8 form: avsc would write replacement bytes other decoders choke on.
      const illFormed = illFormedPath(value);
      if (illFormed !== undefined) {
        throw permanent('ILL_FORMED_TEXT', `value for ${logicalTopic} holds text that is not well-formed Unicode`, {
          topic: logicalTopic,
          schema: fullName,
          path: illFormed.join('.'),
        });
      }
      const id = await idFor(subjectOf(topicName(config, logicalTopic)), fullName);
      const payload = type.toBuffer(value);
      const buffer = Buffer.allocUnsafe(headerLength + payload.length);
      buffer[0] = magicByte;
      buffer.writeInt32BE(id, 1);
      payload.copy(buffer, headerLength);
      return buffer;
    },

    async decode(buffer) {
      const id = Buffer.isBuffer(buffer) ? schemaIdOf(buffer) : null;
      if (id === null) {
        throw permanent('UNDECODABLE', 'not an Avro record in Confluent wire format (magic byte 0 + schema id)', {
          length: Buffer.isBuffer(buffer) ? buffer.length : null,
        });
      }
      const read = await readerFor(id);
      try {
        return read(buffer.subarray(headerLength));
      } catch (error) {
        throw permanent('UNDECODABLE', `bytes do not decode with schema ${id}: ${(error as Error).message}`, {
          schemaId: id,
        });
      }
    },
  };
}

interface Violation {
  path: string;
  /** What was found there (type, not value: values may hold personal data). */
  found: string;
  expected: string;
}

function validate(type: avro.Type, value: unknown): Violation[] {
  // The plain check is several times faster than the one tracking paths; paths only for failures.
  if (type.isValid(value)) return [];
  const violations: Violation[] = [];
  type.isValid(value, {
    errorHook: (path, found, expected) => {
      violations.push({
        path: path.join('.'),
        found: found === null ? 'null' : Array.isArray(found) ? 'array' : typeof found,
        expected: describe(expected),
      });
    },
  });
  return violations;
}

function describe(type: avro.Type): string {
  return type.name ?? type.typeName;
}

async function lookupOrRegister(
  config: Config,
  registry: SchemaRegistry,
  subject: string,
  schema: string,
): Promise<number> {
  try {
    return await registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema });
  } catch (error) {
    // The client turns the registry's 404 (subject or version unknown) into a bare error without a
    // status; anything with a status (or a network failure) is a real problem.
    const notFound = error instanceof Error && error.name === 'ConfluentSchemaRegistryError';
    if (!notFound) throw registryError(error, subject, 'looking up');
  }
  // First write of this schema version: register it (the producer owns its schema, as with
  // Confluent's auto.register.schemas); the registry refuses it if it breaks BACKWARD compatibility.
  return registerSubject(config, registry, subject, schema);
}

async function buildReader(registry: SchemaRegistry, id: number): Promise<(payload: Buffer) => unknown> {
  let writer: avro.Type;
  try {
    writer = (await registry.getSchema(id)) as unknown as avro.Type;
  } catch (error) {
    if (registryStatus(error) === 404) {
      throw new MsgxcError('UNDECODABLE', `schema id ${id} is unknown to the registry`, {
        details: { schemaId: id },
        cause: error,
      });
    }
    throw registryError(error, `schema id ${id}`, 'fetching');
  }
  const local = writer.name ? topicSchemas.get(writer.name) : undefined;
  if (local) {
    if (local.equals(writer)) return (payload) => local.fromBuffer(payload);
    try {
      const resolver = local.createResolver(writer);
      return (payload) => local.fromBuffer(payload, resolver);
    } catch {
      // A newer writer this process cannot map onto its own schema (e.g. a new enum symbol): read it
      // as written; the fields this process knows are all there.
    }
  }
  return (payload) => writer.fromBuffer(payload);
}
