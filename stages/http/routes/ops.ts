import { z } from 'zod';
import { retryAfterSeconds } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import type { Router } from '../router.ts';

/** Liveness, readiness, metrics, the OpenAPI document and the seed's ping. */

const probeTimeoutMs = 2000;

export function addOpsRoutes(router: Router, deps: AppDeps, openApi: () => unknown): void {
  router.add(
    {
      method: 'get',
      path: '/api/v1/ping',
      operationId: 'ping',
      summary: 'The seed ping: 200 `true` while the process serves.',
      tags: ['seed'],
      access: 'public',
      responses: { 200: { description: 'Alive.', schema: z.literal(true) } },
    },
    async () => true,
  );

  router.add(
    {
      method: 'get',
      path: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness: the process answers (dependencies are not checked).',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'Alive.', schema: z.object({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' }),
  );

  router.add(
    {
      method: 'get',
      path: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: Kafka, the schema registry and Cassandra answer.',
      tags: ['operations'],
      access: 'public',
      responses: {
        200: {
          description: 'Every dependency answered.',
          schema: z.object({ ready: z.boolean(), checks: z.record(z.string(), z.string()) }),
        },
        503: { description: 'At least one dependency did not answer (see checks).' },
      },
    },
    async ({ c, log }) => {
      const names = Object.keys(deps.probes);
      const results = await Promise.all(
        names.map(async (name) => {
          try {
            await withDeadline(deps.probes[name]!(), probeTimeoutMs);
            return [name, 'ok'] as const;
          } catch (error) {
            log.warn({ err: error, dependency: name }, 'readiness probe failed');
            return [name, `unavailable: ${(error as Error).message ?? String(error)}`] as const;
          }
        }),
      );
      const ready = results.every(([, state]) => state === 'ok');
      if (!ready) c.header('Retry-After', String(retryAfterSeconds));
      return c.json({ ready, checks: Object.fromEntries(results) }, ready ? 200 : 503);
    },
  );

  router.add(
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics of this process.',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'Prometheus text format.' } },
    },
    async ({ c }) => c.body(await deps.registry.metrics(), 200, { 'content-type': deps.registry.contentType }),
  );

  router.add(
    {
      method: 'get',
      path: '/api/v1/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document.',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'The document.' } },
    },
    async () => openApi(),
  );
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
