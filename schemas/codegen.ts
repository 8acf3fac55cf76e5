import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { type LoadedSchemas, loadSchemas, schemaDirectory } from './load.ts';

/**
 * Generates `schemas/types.generated.ts` from the `.avsc` files: one interface per record (the
 * decoded shape: every field present, optional ones `T | null`), an `…Input` interface per record
 * (what a producer may pass: fields with defaults may be left out) and a symbol list plus union type
 * per enum. Output depends only on the schemas (sorted, no timestamps) so drift is a plain diff.
 *
 * Run: `npx node schemas/codegen.ts` (writes the file) — the unit test fails when it is stale.
 */

export const generatedFile = join(schemaDirectory, 'types.generated.ts');

const shortName = (fullName: string) => fullName.slice(fullName.lastIndexOf('.') + 1);

const comment = (text: string | undefined, indent = '') =>
  text ? `${indent}/** ${text.replaceAll('*/', '*\\/').replace(/\s+/g, ' ').trim()} */\n` : '';

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function tsType(type: avro.Type, input: boolean): string {
  if (type instanceof avro.types.LogicalType) return tsType(type.underlyingType, input);
  if (type instanceof avro.types.RecordType) return input ? `${shortName(type.name!)}Input` : shortName(type.name!);
  if (type instanceof avro.types.EnumType) return shortName(type.name!);
  if (type instanceof avro.types.ArrayType) {
    const items = tsType(type.itemsType, input);
    return items.includes(' ') ? `(${items})[]` : `${items}[]`;
  }
  if (type instanceof avro.types.MapType) return `Record<string, ${tsType(type.valuesType, input)}>`;
  if (type instanceof avro.types.UnwrappedUnionType) {
    // `T | null` reads better than `null | T`; the order of a union's branches carries no meaning in TS.
    const branches = type.types.map((t) => tsType(t, input));
    return [...branches.filter((b) => b !== 'null'), ...branches.filter((b) => b === 'null')].join(' | ');
  }
  if (type instanceof avro.types.FixedType) return 'Buffer';
  switch (type.typeName) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return 'number';
    case 'string':
      return 'string';
    case 'bytes':
      return 'Buffer';
    default:
      throw new Error(`codegen: no TypeScript mapping for Avro type ${type.typeName}`);
  }
}

function fieldNote(type: avro.Type): string {
  const underlying =
    type instanceof avro.types.UnwrappedUnionType ? type.types.find((t) => t.typeName !== 'null') : type;
  return underlying instanceof avro.types.LogicalType && underlying.typeName === 'logical:timestamp-millis'
    ? ' (timestamp-millis)'
    : '';
}

function renderRecord(type: avro.types.RecordType, input: boolean): string {
  const name = shortName(type.name!);
  const lines = type.fields.map((field) => {
    const optional = input && field.defaultValue() !== undefined ? '?' : '';
    // avsc keeps `doc` on fields at runtime but its typings omit it.
    const fieldDoc = (field as avro.types.Field & { doc?: string }).doc;
    const doc = fieldDoc ? `${fieldDoc}${fieldNote(field.type)}` : undefined;
    return `${comment(doc, '  ')}  ${field.name}${optional}: ${tsType(field.type, input)};`;
  });
  const doc = input
    ? `What a producer passes for a {@link ${name}}: fields with a default may be left out.`
    : (type.doc as string | undefined);
  return `${comment(doc)}export interface ${input ? `${name}Input` : name} {\n${lines.join('\n')}\n}\n`;
}

/**
 * A builder per record with defaults: `buildX({...})` takes every field without a default and fills the
 * rest from the schema, so producers never spell out a record's nulls by hand.
 */
function renderBuilder(type: avro.types.RecordType): string {
  const name = shortName(type.name!);
  const defaulted = type.fields.filter((field) => field.defaultValue() !== undefined);
  if (defaulted.length === 0) return '';
  const keys = defaulted.map((field) => `'${field.name}'`).join(' | ');
  const values = defaulted.map((field) => `  ${field.name}: ${JSON.stringify(field.defaultValue())},`).join('\n');
  return (
    `/** The schema's defaults of {@link ${name}}. */\nexport const ${name}Defaults: Pick<${name}, ${keys}> = {\n${values}\n};\n` +
    `/** A {@link ${name}} from its fields, the schema's defaults filling what is left out. */\n` +
    `export function build${name}(fields: Omit<${name}, ${keys}> & Partial<Pick<${name}, ${keys}>>): ${name} {\n` +
    `  return { ...${name}Defaults, ...fields };\n}\n`
  );
}

function renderEnum(type: avro.types.EnumType): string {
  const name = shortName(type.name!);
  const symbols = type.symbols.map((symbol) => `'${symbol}'`).join(', ');
  return (
    `${comment(type.doc as string | undefined)}export const ${name}Symbols = [${symbols}] as const;\n` +
    `${comment(type.doc as string | undefined)}export type ${name} = (typeof ${name}Symbols)[number];\n`
  );
}

export function generateTypes(schemas: LoadedSchemas = loadSchemas()): string {
  const names = [...schemas.named.keys()].sort(byCodePoint);
  const seen = new Map<string, string>();
  for (const fullName of names) {
    const clash = seen.get(shortName(fullName));
    if (clash) throw new Error(`codegen: ${fullName} and ${clash} share a short name`);
    seen.set(shortName(fullName), fullName);
  }
  const parts: string[] = [
    '// Generated by schemas/codegen.ts from schemas/*.avsc — do not edit; run `npx node schemas/codegen.ts`.\n',
  ];
  for (const fullName of names) {
    const type = schemas.named.get(fullName)!;
    if (type instanceof avro.types.EnumType) parts.push(renderEnum(type));
    else if (type instanceof avro.types.RecordType)
      parts.push(renderRecord(type, false), renderRecord(type, true), renderBuilder(type));
    else throw new Error(`codegen: named type ${fullName} is neither a record nor an enum`);
  }
  const topics = [...schemas.topics.keys()].sort(byCodePoint);
  parts.push(
    `/** The value type of each topic schema, by Avro full name. */\nexport interface TopicValueTypes {\n${topics
      .map((fullName) => `  '${fullName}': ${shortName(fullName)};`)
      .join('\n')}\n}\n`,
    `/** What a producer passes for each topic schema, by Avro full name. */\nexport interface TopicValueInputs {\n${topics
      .map((fullName) => `  '${fullName}': ${shortName(fullName)}Input;`)
      .join('\n')}\n}\n`,
    `export type TopicSchemaName = keyof TopicValueTypes;\n`,
    `export const topicSchemaNames = [${topics.map((fullName) => `'${fullName}'`).join(', ')}] as const;\n`,
  );
  return parts.join('\n');
}

if (import.meta.main) {
  writeFileSync(generatedFile, generateTypes());
  console.log(`wrote ${generatedFile}`);
}
