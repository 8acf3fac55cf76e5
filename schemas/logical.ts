import avro from 'avsc';

/**
 * `timestamp-millis` kept as a plain number of epoch milliseconds (what the contracts promise), but
 * declared to avsc so that the logical type survives in the schema sent to the registry and in
 * resolution between writer and reader schemas. Without an implementation avsc silently drops it.
 */
export class TimestampMillis extends avro.types.LogicalType {
  protected override _fromValue(value: unknown): unknown {
    return value;
  }

  protected override _toValue(value: unknown): unknown {
    return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
  }

  protected override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    const underlying = type instanceof avro.types.LogicalType ? type.underlyingType : type;
    if (underlying.typeName === 'long' || underlying.typeName === 'int') return (value) => value;
    return undefined;
  }
}

/**
 * avsc options every msgxc schema is parsed with, local or fetched from the registry. A fresh object
 * each call: avsc stores its name registry on the options it is given, so sharing one object would
 * make the second parse of a schema fail with "duplicate type name".
 */
export function avroTypeOptions(): Partial<avro.ForSchemaOptions> {
  return { logicalTypes: { 'timestamp-millis': TimestampMillis } };
}
