import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { avroTypeOptions, schemaJson } from '../../schemas/index.ts';
import type { Config } from '../config/index.ts';
import { MsgxcError, retriable } from '../errors/index.ts';
import { topicName, topology } from '../topics/topology.ts';

/**
 * The schema registry side of the serde: one `SchemaRegistry` client per serde, subjects named by
 * the topic (`<kafka topic>-value`, Confluent's TopicNameStrategy), BACKWARD compatibility set per
 * subject before its first version is registered so the registry refuses a breaking change.
 */

export const compatibility = 'BACKWARD';

export function createRegistryClient(config: Pick<Config, 'registry' | 'kafka'>): SchemaRegistry {
  return new SchemaRegistry(
    { host: config.registry.url, clientId: config.kafka.clientId },
    // Parse fetched writer schemas like the local ones, so timestamp-millis resolves between them.
    { [SchemaType.AVRO]: avroTypeOptions() },
  );
}

export const subjectOf = (kafkaTopic: string) => `${kafkaTopic}-value`;

/**
 * The HTTP status the registry answered, or undefined when it did not answer. mappersmith (under the
 * client) reports a transport failure (refused, reset, DNS) as a status 400 whose body is the socket
 * error's text, where a real registry error is a JSON body with a message; without this check an
 * outage would read as "the registry rejected the schema", a permanent failure.
 */
export function registryStatus(error: unknown): number | undefined {
  if (!(error && typeof error === 'object' && 'status' in error && typeof error.status === 'number')) return undefined;
  const message = error instanceof Error ? error.message : '';
  if (error.status === 400 && message.includes('Error, status 400:')) return undefined;
  return error.status;
}

/**
 * Turns a registry client error into a MsgxcError: a refusal (the registry answered "no") is
 * permanent, anything else (unreachable, 5xx) retriable.
 */
export function registryError(error: unknown, subject: string, action: string): MsgxcError {
  if (error instanceof MsgxcError) return error;
  const status = registryStatus(error);
  if (status === undefined || status >= 500) {
    return retriable(
      'REGISTRY_UNAVAILABLE',
      `schema registry: ${action} ${subject} failed: ${errorText(error)}`,
      error,
    );
  }
  const reason = errorText(error);
  if (status === 409) {
    return new MsgxcError('SCHEMA_INCOMPATIBLE', `registry refused the schema for ${subject}: ${reason}`, {
      status: 500,
      details: { subject, registryStatus: status },
      cause: error,
    });
  }
  if (status === 422 || status === 400) {
    return new MsgxcError('SCHEMA_INVALID', `registry rejected the schema for ${subject}: ${reason}`, {
      status: 500,
      details: { subject, registryStatus: status },
      cause: error,
    });
  }
  return new MsgxcError('REGISTRY_REFUSED', `schema registry: ${action} ${subject} refused: ${reason}`, {
    status: 500,
    details: { subject, registryStatus: status },
    cause: error,
  });
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** PUT /config/{subject}: the client library only sets it after registering, and only on a 404. */
export async function setCompatibility(config: Pick<Config, 'registry'>, subject: string): Promise<void> {
  // Two instances setting the rule at once: Apicurio answers the loser 409 "rule already exists";
  // the rule is then in place, so asking again updates it instead of creating it.
  for (let attempt = 1; ; attempt += 1) {
    const conflict = await putCompatibility(config, subject, attempt < 3);
    if (!conflict) return;
  }
}

/** One PUT; answers true when the registry reported a creation race that a second PUT resolves. */
async function putCompatibility(
  config: Pick<Config, 'registry'>,
  subject: string,
  conflictRetriable: boolean,
): Promise<boolean> {
  let response: Response;
  try {
    response = await fetch(`${config.registry.url}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw registryError(error, subject, 'setting compatibility of');
  }
  if (!response.ok) {
    const body = await response.text();
    if (response.status === 409 && conflictRetriable && /already exists/i.test(body)) return true;
    throw registryError(
      Object.assign(new Error(body), { status: response.status }),
      subject,
      'setting compatibility of',
    );
  }
  await response.body?.cancel();
  return false;
}

/**
 * Sets BACKWARD compatibility on the subject, then registers the schema (the registry answers the
 * existing id when the same schema is already there) and returns its id.
 */
export async function registerSubject(
  config: Pick<Config, 'registry'>,
  registry: SchemaRegistry,
  subject: string,
  schema: string,
): Promise<number> {
  await setCompatibility(config, subject);
  try {
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema },
      { subject, compatibility: COMPATIBILITY.BACKWARD, updateConfig: false },
    );
    return id;
  } catch (error) {
    throw registryError(error, subject, 'registering');
  }
}

/** The subjects msgxc writes, with the Avro full name of each one's schema. */
export function subjects(config: Pick<Config, 'kafka'>): Map<string, string> {
  const result = new Map<string, string>();
  for (const spec of topology) {
    if (spec.schema) result.set(subjectOf(topicName(config, spec.name)), spec.schema);
  }
  return result;
}

/** Registers every topic's value schema with BACKWARD compatibility; subject → schema id. */
export async function registerSchemas(
  config: Pick<Config, 'registry' | 'kafka'>,
  registry: SchemaRegistry = createRegistryClient(config),
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const [subject, schema] of subjects(config)) {
    ids.set(subject, await registerSubject(config, registry, subject, schemaJson(schema)));
  }
  return ids;
}
