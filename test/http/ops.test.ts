import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, dropTestData, type Harness, token } from './support.ts';

/** Liveness, readiness, metrics, the OpenAPI document and request ids, on the real servers. */

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});

afterAll(async () => {
  await h?.close();
  if (h) await dropTestData(h.config);
});

describe('operations', () => {
  it('answers /healthz', async () => {
    const response = await h.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz when Kafka, the registry and Cassandra answer', async () => {
    const response = await h.request('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true, checks: { kafka: 'ok', registry: 'ok', cassandra: 'ok' } });
  });

  it('serves Prometheus metrics with the requests answered', async () => {
    await h.request('/api/v1/ping');
    await h.request('/api/v1/publish', { json: {} });
    const response = await h.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/msgxc_http_requests_total\{method="GET",route="\/api\/v1\/ping",status="200"\} [1-9]/);
    expect(text).toMatch(/msgxc_http_requests_total\{method="POST",route="\/api\/v1\/publish",status="401"\} 1/);
    expect(text).toContain('msgxc_http_request_duration_seconds_bucket');
  });

  it('puts a request id on every response, keeping a safe one the caller sent', async () => {
    const mine = await h.request('/api/v1/ping', { headers: { 'x-request-id': 'caller-trace-42' } });
    expect(mine.headers.get('x-request-id')).toBe('caller-trace-42');
    const unsafe = await h.request('/api/v1/ping', { headers: { 'x-request-id': 'bad id\u0007' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (const response of [
      await h.request('/nowhere'),
      await h.request('/api/v1/publish', { json: {} }),
      await h.request('/api/v1/publish', { json: {}, token: await token() }),
    ]) {
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('serves an OpenAPI 3.1 document generated from the validators', async () => {
    const response = await h.request('/api/v1/openapi.json');
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: Record<string, unknown>;
    };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'GET /api/v1/ping',
        'POST /api/v1/enlist',
        'POST /api/v1/publish',
        'POST /api/v1/subscribe',
        'POST /api/v1/unsubscribe',
        'POST /api/v1/broadcast',
        'POST /api/v1/multicast',
        'POST /api/v1/send',
        'POST /api/v1/threads',
        'GET /api/v1/threads/{tid}',
        'PATCH /api/v1/threads/{tid}',
        'GET /api/v1/devices',
        'DELETE /api/v1/devices/{channel}/{id}',
        'GET /api/v1/preferences',
        'PUT /api/v1/preferences',
        'GET /api/v1/messages/{mid}',
        'DELETE /api/v1/scheduled/{requestId}',
        'POST /api/v1/ack',
        'POST /api/v1/read',
        'GET /api/v1/threads/{tid}/messages',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ]),
    );
    const publish = document.paths['/api/v1/publish']!.post as {
      requestBody: { content: { 'application/json': { schema: Record<string, unknown> } } };
      security: unknown;
      responses: Record<string, unknown>;
      parameters: { name: string }[];
    };
    const schema = publish.requestBody.content['application/json'].schema as {
      required: string[];
      properties: Record<string, { format?: string }>;
      additionalProperties: boolean;
    };
    expect(schema.required).toEqual(['tid', 'msg']);
    expect(schema.properties.tid?.format).toBe('uuid');
    expect(schema.additionalProperties).toBe(false);
    expect(publish.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(publish.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '413', '503']));
    expect(publish.parameters.map((parameter) => parameter.name)).toContain('Idempotency-Key');
    const enlist = document.paths['/api/v1/enlist']!.post as {
      requestBody: { content: { 'application/json': { schema: { anyOf: unknown[] } } } };
    };
    expect(enlist.requestBody.content['application/json'].schema.anyOf).toHaveLength(3);
    const catchUp = document.paths['/api/v1/threads/{tid}/messages']!.get as {
      parameters: { name: string; in: string; required: boolean }[];
      responses: Record<string, unknown>;
    };
    expect(catchUp.parameters.map((parameter) => [parameter.name, parameter.in, parameter.required])).toEqual([
      ['tid', 'path', true],
      ['after', 'query', false],
      ['limit', 'query', false],
    ]);
    expect(Object.keys(catchUp.responses)).toEqual(expect.arrayContaining(['200', '401', '404', '503']));
    const cancel = document.paths['/api/v1/scheduled/{requestId}']!.delete as { responses: Record<string, unknown> };
    expect(Object.keys(cancel.responses)).toEqual(expect.arrayContaining(['200', '403', '404', '409', '503']));
    expect(JSON.stringify(document)).not.toContain('#/$defs');
  });
});
