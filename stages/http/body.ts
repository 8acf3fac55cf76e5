import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { illFormedPath } from '../../pipeline/contract/text.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';

/**
 * Reads a JSON body. Hono's bodyLimit middleware has already capped its size (413); here a wrong media
 * type is a 415, bytes that are not UTF-8 or text that is not JSON a 400, JSON nested deeper than any msgxc
 * body a 400 — so later code (validation, JSON.stringify of opts) never recurses through an attacker's
 * 30,000 brackets — and a string that is not well-formed Unicode (`"\ud800"`, anywhere, keys included) a
 * 400 naming where it is, since no record may carry it (pipeline/contract/text.ts).
 */

const maxDepth = 32;

/** `fatal`: bytes that are not UTF-8 are refused, not silently replaced with U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/**
 * Hono's bodyLimit, minus its cost on the common path: it reads `c.req.raw.body`, which makes
 * @hono/node-server build a full undici Request with a web stream for every request (about a sixth of the
 * publish path's CPU). A declared length is checked from the header, as bodyLimit itself does (Node's
 * parser holds the body to it); only GET/HEAD (no body) skip the check and only a chunked body goes
 * through bodyLimit's counting reader.
 */
export function limitBody(maxSize: number, onError: () => never): MiddlewareHandler {
  const counting = bodyLimit({ maxSize, onError });
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number.parseInt(length, 10) > maxSize) onError();
      return next();
    }
    return counting(c, next);
  };
}

export interface JsonBody {
  text: string;
  value: unknown;
}

export async function readJson(c: Context): Promise<JsonBody> {
  const type = c.req.header('content-type');
  if (type !== undefined && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new MsgxcError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json', { status: 415 });
  }
  let text: string;
  try {
    text = utf8.decode(await c.req.arrayBuffer());
  } catch (error) {
    throw invalidJson('the body is not valid UTF-8', error);
  }
  if (text.trim().length === 0) throw invalidJson('the body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidJson('the body is not valid JSON', error);
  }
  if (depthOf(value) > maxDepth) throw invalidJson(`the body is nested deeper than ${maxDepth} levels`);
  // Fatal decoding already refused raw lone surrogates: one can only come from a `\uD800`–`\uDFFF` escape.
  const illFormed = surrogateEscape.test(text) ? illFormedPath(value) : undefined;
  if (illFormed !== undefined) {
    const message = 'not well-formed Unicode (a lone surrogate)';
    throw new MsgxcError('INVALID_REQUEST', 'the request does not match the schema', {
      status: 400,
      details: { issues: [{ path: illFormed, message }] },
    });
  }
  return { text, value };
}

const invalidJson = (message: string, cause?: unknown) =>
  new MsgxcError('INVALID_JSON', message, { status: 400, cause, details: { issues: [{ path: [], message }] } });

/** Iterative, so measuring a hostile document cannot overflow the stack either. */
function depthOf(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > deepest) deepest = depth;
    if (deepest > maxDepth) return deepest;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
}
