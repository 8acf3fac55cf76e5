import type { MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { readJson } from '../body.ts';
import type { Env } from '../router.ts';
import { parseWith } from '../validators.ts';

/** Validates the path parameters and the query string (400 with the issues) before the body is read. */
export function validateParams(params: z.ZodType | undefined, query: z.ZodType | undefined): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (params !== undefined) c.set('params', parseWith(params, c.req.param()));
    if (query !== undefined) c.set('query', parseWith(query, c.req.query()));
    await next();
  };
}

/** Reads the JSON body once (415, 400 for a body that is not JSON); the idempotency check fingerprints its text. */
export const readBody: MiddlewareHandler<Env> = async (c, next) => {
  c.set('body', await readJson(c));
  await next();
};
