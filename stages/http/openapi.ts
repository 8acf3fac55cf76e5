import { z } from 'zod';
import { idempotencyKeyPattern } from './middleware/idempotency.ts';
import type { Router } from './router.ts';

/**
 * The OpenAPI 3.1 document, generated from the route declarations and their zod schemas (OpenAPI 3.1
 * speaks JSON Schema 2020-12, which is what `z.toJSONSchema` emits). Input shapes are documented, since
 * that is what a client sends; transforms (urgency names → numbers) happen after.
 */

type JsonSchema = Record<string, unknown>;

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Machine-readable code, e.g. INVALID_REQUEST, UNAUTHENTICATED.' },
    message: { type: 'string' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: {
          path: { type: 'array', items: { type: ['string', 'integer'] } },
          message: { type: 'string' },
        },
      },
    },
  },
};

const standardErrors: Record<string, Record<number, string>> = {
  public: { 503: 'A dependency is unavailable; see Retry-After.' },
  user: {
    400: 'The request does not match the schema.',
    401: 'No token, or the token is invalid (the message says why).',
    403: 'The token is valid but not allowed to do this.',
    413: 'The body or the message is too large.',
    415: 'The body is not JSON.',
    429: 'RATE_LIMITED: too many requests from this user or token (or to this thread); see Retry-After.',
    503: 'A dependency is unavailable; nothing was written. See Retry-After.',
  },
};
standardErrors.admin = standardErrors.user!;

const idempotencyErrors: Record<number, string> = {
  409: 'IDEMPOTENCY_IN_PROGRESS: a request with this Idempotency-Key is still being processed; see Retry-After.',
  422: 'IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used with another request.',
};

function toSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** `/threads/:tid` → `/threads/{tid}` */
const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (schema === undefined) return [];
  const json = toSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

export function buildOpenApi(specs: Router['specs']): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of specs) {
    const path = openApiPath(spec.path);
    paths[path] ??= {};
    const responses: Record<string, JsonSchema> = {};
    for (const [status, response] of Object.entries(spec.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema && { content: { 'application/json': { schema: toSchema(response.schema) } } }),
      };
    }
    for (const [status, description] of Object.entries(standardErrors[spec.access] ?? {})) {
      responses[status] ??= {
        description,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const headers: JsonSchema[] = spec.idempotent
      ? [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'Repeats with the same key within 24 hours get the first answer and send nothing.',
            schema: { type: 'string', pattern: idempotencyKeyPattern.source },
          },
        ]
      : [];
    if (spec.idempotent) {
      for (const [status, description] of Object.entries(idempotencyErrors)) {
        responses[status] ??= {
          description,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
      }
    }
    paths[path][spec.method] = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: spec.tags,
      ...(spec.access !== 'public' && { security: [{ bearer: [] }] }),
      ...(spec.access === 'admin' && {
        description: 'Needs a token whose roles claim holds the admin (or service) role.',
      }),
      parameters: [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query'), ...headers],
      ...(spec.body && {
        requestBody: { required: true, content: { 'application/json': { schema: toSchema(spec.body) } } },
      }),
      ...(spec.rawBody && {
        requestBody: {
          required: true,
          content: Object.fromEntries(
            spec.rawBody.mediaTypes.map((type) => [type, { schema: toSchema(spec.rawBody!.schema) }]),
          ),
        },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'msgxc',
      version: '1',
      description:
        'The messaging exchange API. Every response carries `x-request-id`, the HTTP request id of that exchange; publish, broadcast, multicast and send also answer `msgxc-request-id`, the ingest request id of the message request (what `DELETE /api/v1/scheduled/{requestId}` takes). Seed calls answer `true` once the request is durable (Kafka acknowledged, or Cassandra written).',
    },
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
