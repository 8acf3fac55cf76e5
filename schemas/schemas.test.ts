import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { generatedFile, generateTypes } from './codegen.ts';
import { fullExamples, minimalExamples } from './examples.ts';
import { avroTypeOptions, namedTypes, schemaJson, schemaType, topicSchemaNames, topicSchemas } from './index.ts';
import { namespace, topicSchemaFiles } from './load.ts';

const names = [...topicSchemaNames];

/** Every field (nested records included) must say what it means. */
function undocumented(type: avro.Type, path: string, seen = new Set<avro.Type>()): string[] {
  if (seen.has(type)) return [];
  seen.add(type);
  if (type instanceof avro.types.RecordType) {
    const missing = type.doc ? [] : [path];
    for (const field of type.fields) {
      const doc = (field as avro.types.Field & { doc?: string }).doc;
      if (!doc?.trim()) missing.push(`${path}.${field.name}`);
      missing.push(...undocumented(field.type, `${path}.${field.name}`, seen));
    }
    return missing;
  }
  if (type instanceof avro.types.UnwrappedUnionType) return type.types.flatMap((t) => undocumented(t, path, seen));
  if (type instanceof avro.types.ArrayType) return undocumented(type.itemsType, `${path}[]`, seen);
  if (type instanceof avro.types.EnumType) return type.doc ? [] : [path];
  return [];
}

/** Optional fields are `["null", T]` with default null, so readers of old records get a value. */
function badOptionals(type: avro.Type, path: string, seen = new Set<avro.Type>()): string[] {
  if (seen.has(type) || !(type instanceof avro.types.RecordType)) return [];
  seen.add(type);
  return type.fields.flatMap((field) => {
    const here = `${path}.${field.name}`;
    const nested = (t: avro.Type): avro.Type[] =>
      t instanceof avro.types.UnwrappedUnionType ? t.types : t instanceof avro.types.ArrayType ? [t.itemsType] : [t];
    const problems =
      field.type instanceof avro.types.UnwrappedUnionType &&
      (field.type.types[0]?.typeName !== 'null' || field.defaultValue() !== null)
        ? [here]
        : [];
    return [...problems, ...nested(field.type).flatMap((t) => badOptionals(t, here, seen))];
  });
}

describe('schemas', () => {
  it('has one namespaced record schema per topic value', () => {
    expect(topicSchemas.size).toBe(topicSchemaFiles.length);
    for (const name of names) {
      expect(name.startsWith(`${namespace}.`)).toBe(true);
      expect(schemaType(name).typeName).toBe('record');
    }
  });

  it('documents every record, enum and field', () => {
    expect(names.flatMap((name) => undocumented(schemaType(name), name))).toEqual([]);
  });

  it('makes optional fields ["null", T] with default null', () => {
    expect(names.flatMap((name) => badOptionals(schemaType(name), name))).toEqual([]);
  });

  it('registers self-contained schemas that avsc parses back to the same type', () => {
    for (const name of names) {
      const reparsed = avro.Type.forSchema(JSON.parse(schemaJson(name)), avroTypeOptions());
      expect(reparsed.equals(schemaType(name)), name).toBe(true);
      expect(schemaJson(name)).toContain('"logicalType":"timestamp-millis"');
    }
  });

  it.each(names)('round-trips a full and a minimal %s', (name) => {
    const type = schemaType(name);
    const full = fullExamples[name];
    expect(type.isValid(full)).toBe(true);
    expect(type.fromBuffer(type.toBuffer(full))).toEqual(full);

    const minimal = minimalExamples[name];
    const decoded = type.fromBuffer(type.toBuffer(minimal));
    expect(decoded).toMatchObject(minimal as object);
    // Every field left out comes back as its default, never as undefined.
    for (const field of (type as avro.types.RecordType).fields) expect(decoded[field.name]).not.toBeUndefined();
  });

  it('reads a record written before a new optional field was added (BACKWARD)', () => {
    const writer = schemaType('dev.msgxc.CheckIn');
    const schema = JSON.parse(schemaJson('dev.msgxc.CheckIn'));
    schema.fields.push({ name: 'region', doc: 'added later', type: ['null', 'string'], default: null });
    const reader = avro.Type.forSchema(schema, avroTypeOptions());
    const value = reader.fromBuffer(writer.toBuffer(fullExamples['dev.msgxc.CheckIn']), reader.createResolver(writer));
    expect(value).toEqual({ ...fullExamples['dev.msgxc.CheckIn'], region: null });
  });

  it('rejects a value that does not fit, naming the field', () => {
    const paths: string[][] = [];
    const bad = { ...fullExamples['dev.msgxc.IngestRequest'], urgency: 'high', createdAt: 1.5 };
    expect(schemaType('dev.msgxc.IngestRequest').isValid(bad, { errorHook: (path) => paths.push(path) })).toBe(false);
    expect(paths.map((path) => path.join('.')).sort()).toEqual(['createdAt', 'urgency']);
  });

  it('knows every shared named type by its full name', () => {
    for (const name of ['Channel', 'Sender', 'TraceContext', 'Device', 'Audience', 'Experiment', 'Variant']) {
      expect(namedTypes.has(`${namespace}.${name}`), name).toBe(true);
    }
  });

  it('has committed TypeScript types that match the schemas (run `npx node schemas/codegen.ts`)', () => {
    expect(readFileSync(generatedFile, 'utf8')).toBe(generateTypes());
  });
});
