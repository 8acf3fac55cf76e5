import type { MiddlewareHandler } from 'hono';
import { bearerToken, type Principal, type Verifier } from '../../../pipeline/auth/index.ts';
import { forbidden } from '../errors.ts';
import type { Access, Env } from '../router.ts';

/** Anonymous callers of public routes get this principal; it holds no rights. */
export const anonymous: Principal = { uid: '', admin: false, service: false, claims: {} };

/**
 * Sets the caller's `principal` from the verified bearer token (401 without a valid one); an admin route
 * needs the admin or service role (403). Public routes pass through: their handlers get `anonymous`.
 */
export function authenticate(verifier: Verifier, access: Access): MiddlewareHandler<Env> {
  if (access === 'public') return (_c, next) => next();
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    // Not wrapped in dependency(): the verifier already tells a bad token (401) from an unreachable JWKS (503).
    const principal = await verifier.verify(token);
    c.set('principal', principal);
    if (access === 'admin' && !principal.admin && !principal.service) {
      throw forbidden('this call needs an admin or service token');
    }
    await next();
  };
}
