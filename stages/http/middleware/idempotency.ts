import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { MsgxcError } from '../../../pipeline/errors/index.ts';
import { conflict, dependency } from '../errors.ts';
import type { IdempotencyPort } from '../ports.ts';
import type { Env } from '../router.ts';

/**
 * `Idempotency-Key` as Hono middleware: the first request with a key is processed and its answer stored for
 * the window; repeats get the stored answer and produce nothing. Keys are scoped per caller. The ingest
 * request id is derived from the key, so even a repeat that slips through (its claim expired mid-flight) is
 * dropped by prioritize's de-duplication. A repeat while the first is still running gets a 409; a repeat
 * with another body a 422, as in the IETF draft for this header. Runs after authentication (the scope is the
 * caller) and after the body was read (the fingerprint covers it).
 */

export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

export function idempotency(store: IdempotencyPort, timeoutMs: number): MiddlewareHandler<Env> {
  const release = async (c: Context<Env>, scope: string, key: string) => {
    try {
      await dependency('cassandra', timeoutMs, () => store.release(scope, key));
    } catch (error) {
      c.get('log').warn({ err: error, idempotencyKey: key }, 'could not release the idempotency claim');
    }
  };

  return async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (key === undefined) return next();
    if (!idempotencyKeyPattern.test(key)) {
      throw new MsgxcError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
        status: 400,
        details: { issues: [{ path: ['Idempotency-Key'], message: 'must be 1 to 255 visible ASCII characters' }] },
      });
    }
    const scope = c.get('principal')?.uid ?? '';
    const fingerprint = sha256(`${c.req.method} ${c.req.path}\u0000${c.get('body')?.text ?? ''}`).toString('hex');
    const claim = await dependency('cassandra', timeoutMs, () => store.claim(scope, key, fingerprint));
    if (claim.state === 'done') {
      c.get('log').info({ idempotencyKey: key }, 'idempotent replay');
      return new Response(claim.answer.body, {
        status: claim.answer.status,
        headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' },
      });
    }
    if (claim.state === 'pending') {
      c.header('Retry-After', '1');
      throw conflict('IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still being processed');
    }
    if (claim.state === 'mismatch') {
      throw new MsgxcError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with another request', {
        status: 422,
      });
    }
    c.set('ingestRequestId', uuidFrom(sha256(`${scope}\u0000${key}`)));
    // Hono's compose turns a handler's throw into the error response before it returns here, so c.res is
    // always the answer the client gets.
    await next();
    const response = c.res;
    if (response.status < 200 || response.status >= 300) return release(c, scope, key);
    const answer = { status: response.status, body: await response.clone().text() };
    try {
      await dependency('cassandra', timeoutMs, () => store.complete(scope, key, fingerprint, answer));
    } catch (error) {
      // The work is done; failing the call now would invite a retry. The short claim expires and the
      // derived request id still lets the pipeline drop a repeat.
      c.get('log').warn({ err: error, idempotencyKey: key }, 'could not store the idempotent answer');
    }
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** A UUID (version 8, RFC 9562 "custom") made from a hash, so the same key always gives the same request id. */
export function uuidFrom(hash: Buffer): string {
  const bytes = Buffer.from(hash.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
