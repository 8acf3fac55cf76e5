import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { unitApp } from '../../test/support/http.ts';

/** The document says what the server accepts and answers (what a property-based client relies on). */

type Operation = {
  parameters: { name: string; schema: { pattern?: string } }[];
  responses: Record<string, unknown>;
  requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
};

async function document() {
  const { call } = unitApp();
  const answer = await call('GET', '/api/v1/openapi.json', { as: null });
  return answer.body as { paths: Record<string, Record<string, Operation>>; components: { schemas: object } };
}

describe('the OpenAPI document', () => {
  it('documents the idempotency answers, the key pattern and the rate limit on every idempotent call', async () => {
    const doc = await document();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const key = operation.parameters.find((parameter) => parameter.name === 'Idempotency-Key');
        if (key === undefined) continue;
        expect(key.schema.pattern, `${method} ${path}`).toBe('^[\\x21-\\x7e]{1,255}$');
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(['409', '422', '429']),
        );
      }
    }
    expect(doc.paths['/api/v1/publish']?.post?.responses['422']).toBeDefined();
  });

  it('describes Web Push key lengths, ingest request id characters and a non-empty thread patch', async () => {
    const doc = JSON.stringify(await document());
    expect(doc).toContain('"pattern":"^B[A-P][A-Za-z0-9_-]{85}={0,2}$"');
    expect(doc).toContain('"pattern":"^[A-Za-z0-9_-]{22}={0,2}$"');
    const spec = await document();
    const patch = spec.paths['/api/v1/threads/{tid}']?.patch?.requestBody?.content['application/json'].schema;
    expect(patch?.minProperties).toBe(1);
    const cancel = spec.paths['/api/v1/scheduled/{requestId}']?.delete?.parameters[0];
    expect(cancel?.schema.pattern).toBe('^[^\\u0000-\\u001f\\u007f]+$');
  });
});

/** One request over a real socket: the Fetch API cannot even build a TRACE request, Node's server can take one. */
function send(port: number, method: string, path: string): Promise<{ status: number; allow: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('methods', () => {
  it('answers 405 with Allow for a method a known path does not serve, 404 for an unknown path', async () => {
    const { app } = unitApp();
    const server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(created));
    });
    try {
      const { port } = server.address() as AddressInfo;
      expect(await send(port, 'TRACE', '/api/v1/ping')).toEqual({ status: 405, allow: 'GET, HEAD' });
      const thread = '/api/v1/threads/0b6f3c2a-1d4e-4f5a-8b9c-0d1e2f3a4b5c';
      expect(await send(port, 'PUT', thread)).toEqual({ status: 405, allow: 'GET, HEAD, PATCH' });
      expect((await send(port, 'TRACE', '/api/v1/nowhere')).status).toBe(404);
    } finally {
      server.close();
    }
  });
});
