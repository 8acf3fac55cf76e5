import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { Principal } from '../../pipeline/auth/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { JsonBody } from './body.ts';
import { anonymous, authenticate } from './middleware/auth.ts';
import { idempotency } from './middleware/idempotency.ts';
import { readBody, validateParams } from './middleware/input.ts';
import { limitRate } from './middleware/rate-limit.ts';
import type { AppDeps } from './ports.ts';
import { parseWith } from './validators.ts';

/**
 * Routes are declared as data (method, path, access, schemas, responses) plus a handler. The same
 * declarations mount the Hono routes and generate the OpenAPI document, so validation and documentation
 * come from one place. Each route is a chain of Hono middleware — authenticate, validate path and query,
 * read the body, Idempotency-Key — ending in the handler, which receives a validated body, params and query
 * and the caller's principal and returns a JSON value (200) or a Response.
 *
 * Two ids travel with a request and are never confused: `httpRequestId` names this HTTP exchange (the
 * `x-request-id` header, log lines); `ingestRequestId` names the message request handed to the pipeline
 * (the ingest record's `requestId`, the `msgxc-request-id` header, what `DELETE /scheduled/{requestId}` takes).
 */

export interface Env {
  Variables: {
    /** This HTTP exchange's id (`x-request-id`). */
    httpRequestId: string;
    /** The id an ingest record made by this call carries: stable per Idempotency-Key, random otherwise. */
    ingestRequestId: string;
    log: Logger;
    principal: Principal | undefined;
    route: string;
    body: JsonBody | undefined;
    params: unknown;
    query: unknown;
  };
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
  /** A body the handler reads itself (not through readBody), documented with these media types. */
  rawBody?: { mediaTypes: string[]; schema: Schema };
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
  /** The ingest request id for a record this call produces (see Env). */
  ingestRequestId: string;
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

export function createRouter(app: Hono<Env>, deps: AppDeps): Router {
  const specs: Router['specs'] = [];
  // One set of buckets for the whole app, whichever route spends from them.
  const rateLimit = limitRate(deps.limits.rate, deps.clock);
  return {
    specs,
    add<B extends Schema | undefined, P extends Schema | undefined, Q extends Schema | undefined>(
      spec: RouteSpec<B, P, Q>,
      handler: Handler<Out<B>, Out<P>, Out<Q>>,
    ) {
      specs.push(spec as Router['specs'][number]);
      const chain: MiddlewareHandler<Env>[] = [named(spec.path)];
      if (spec.access !== 'public') chain.push(authenticate(deps.verifier, spec.access), rateLimit);
      if (spec.params !== undefined || spec.query !== undefined) chain.push(validateParams(spec.params, spec.query));
      if (spec.body !== undefined) chain.push(readBody);
      if (spec.idempotent) chain.push(idempotency(deps.idempotency, deps.limits.dependencyTimeoutMs));
      app.on(spec.method.toUpperCase(), [spec.path], ...chain, async (c: Context<Env>) => {
        const value = c.get('body')?.value;
        const body = (
          spec.body === undefined ? undefined : spec.parseBody ? spec.parseBody(value) : parseWith(spec.body, value)
        ) as Out<B>;
        const result = await handler({
          c,
          principal: c.get('principal') ?? anonymous,
          body,
          params: c.get('params') as Out<P>,
          query: c.get('query') as Out<Q>,
          ingestRequestId: c.get('ingestRequestId') ?? crypto.randomUUID(),
          log: c.get('log'),
        });
        return result instanceof Response ? result : c.json(result as object);
      });
    },
  };
}

/** Labels the request with its route pattern for metrics and logs. */
const named =
  (route: string): MiddlewareHandler<Env> =>
  (c, next) => {
    c.set('route', route);
    return next();
  };
