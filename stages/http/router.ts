import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import { bearerToken, type Principal } from '../../pipeline/auth/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { readJson } from './body.ts';
import { forbidden } from './errors.ts';
import { withIdempotency } from './idempotency.ts';
import type { AppDeps } from './ports.ts';
import { parseWith } from './validators.ts';

/**
 * Routes are declared as data (method, path, access, schemas, responses) plus a handler. The same
 * declarations mount the Hono routes and generate the OpenAPI document, so validation and documentation
 * come from one place. A handler receives a validated body, params and query and the caller's principal;
 * it returns a JSON value (200) or a Response.
 */

export interface Env {
  Variables: { requestId: string; log: Logger; principal: Principal | undefined; route: string };
}

export type Access = 'public' | 'user' | 'admin';
type Schema = z.ZodType;
type Out<S> = S extends Schema ? z.output<S> : undefined;

export interface RouteSpec<
  B extends Schema | undefined = undefined,
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono path syntax, e.g. `/api/v1/threads/:tid`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  body?: B;
  /** Replaces `parseWith(body, value)` where one schema cannot pick the issues a client needs. */
  parseBody?: (value: unknown) => Out<B>;
  params?: P;
  query?: Q;
  /** Honours the `Idempotency-Key` header. */
  idempotent?: boolean;
  responses: Record<number, { description: string; schema?: Schema }>;
}

export interface HandlerInput<B, P, Q> {
  c: Context<Env>;
  principal: Principal;
  body: B;
  params: P;
  query: Q;
  /** Stable per Idempotency-Key (so the pipeline de-duplicates too), random otherwise. */
  requestId: string;
  log: Logger;
}

export type Handler<B, P, Q> = (input: HandlerInput<B, P, Q>) => Promise<unknown>;

export interface Router {
  specs: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>[];
  add<B extends Schema | undefined, P extends Schema | undefined, Q extends Schema | undefined>(
    spec: RouteSpec<B, P, Q>,
    handler: Handler<Out<B>, Out<P>, Out<Q>>,
  ): void;
}

/** Anonymous callers of public routes get this principal; it holds no rights. */
const anonymous: Principal = { uid: '', admin: false, service: false, claims: {} };

export function createRouter(app: Hono<Env>, deps: AppDeps): Router {
  const specs: Router['specs'] = [];
  return {
    specs,
    add<B extends Schema | undefined, P extends Schema | undefined, Q extends Schema | undefined>(
      spec: RouteSpec<B, P, Q>,
      handler: Handler<Out<B>, Out<P>, Out<Q>>,
    ) {
      specs.push(spec as Router['specs'][number]);
      app.on(spec.method.toUpperCase(), spec.path, async (c) => {
        c.set('route', spec.path);
        const principal = spec.access === 'public' ? anonymous : await authenticate(c, deps, spec.access);
        const params = (spec.params ? parseWith(spec.params, c.req.param()) : undefined) as Out<P>;
        const query = (spec.query ? parseWith(spec.query, c.req.query()) : undefined) as Out<Q>;
        const run = async (requestId: string, bodyValue: unknown) => {
          const body = (
            spec.body === undefined
              ? undefined
              : spec.parseBody
                ? spec.parseBody(bodyValue)
                : parseWith(spec.body, bodyValue)
          ) as Out<B>;
          const result = await handler({ c, principal, body, params, query, requestId, log: c.get('log') });
          return result instanceof Response ? result : c.json(result as object);
        };
        const raw = spec.body === undefined ? { text: '', value: undefined } : await readJson(c);
        if (spec.idempotent)
          return withIdempotency(c, deps, principal, raw.text, (requestId) => run(requestId, raw.value));
        return run(crypto.randomUUID(), raw.value);
      });
    },
  };
}

async function authenticate(c: Context<Env>, deps: AppDeps, access: Access): Promise<Principal> {
  const token = bearerToken(c.req.header('authorization'));
  // Not wrapped in dependency(): the verifier already tells a bad token (401) from an unreachable JWKS (503).
  const principal = await deps.verifier.verify(token);
  c.set('principal', principal);
  if (access === 'admin' && !principal.admin && !principal.service) {
    throw forbidden('this call needs an admin or service token');
  }
  return principal;
}
