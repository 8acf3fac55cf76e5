import { createSecretKey, type KeyObject } from 'node:crypto';
import {
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type { Config } from '../config/index.ts';
import { idProblem } from '../contract/ingest.ts';
import { MsgxcError } from '../errors/index.ts';

/**
 * JWT verification shared by the HTTP facade and the WebSocket gateway. The algorithm is pinned by
 * config (HS256 with a shared secret, or RS256/ES256 with keys from a JWKS URL), so a token can never
 * choose how it is checked: `alg: none`, an HS256 token signed with an RSA public key, and any other
 * algorithm than the configured one are refused before the signature is looked at.
 */

export interface Principal {
  /** The token's `sub`. */
  uid: string;
  /** The roles claim holds the admin role. */
  admin: boolean;
  /** The roles claim holds the service role: an internal service acting for the system. */
  service: boolean;
  claims: Record<string, unknown>;
}

export interface Verifier {
  verify(token: string): Promise<Principal>;
}

export type AuthConfig = Config['auth'];

const unauthenticated = (reason: string, cause?: unknown) =>
  new MsgxcError('UNAUTHENTICATED', reason, { status: 401, retriable: false, cause });

/**
 * No bearer token at all (no header, an empty one, another scheme): RFC 6750 §3.1 says the challenge then
 * carries no error code, only that a bearer token is expected.
 */
const noCredentials = (reason: string) =>
  new MsgxcError('UNAUTHENTICATED', reason, { status: 401, retriable: false, details: { credentials: 'none' } });

/** True for a 401 that saw no bearer token at all (answer without `error="invalid_token"`). */
export const lacksCredentials = (error: unknown): boolean =>
  error instanceof MsgxcError && error.details?.credentials === 'none';

/** The identity provider cannot be reached: not the caller's fault, so a 503 it may retry. */
const authUnavailable = (cause: unknown) =>
  new MsgxcError('AUTH_UNAVAILABLE', 'the key set could not be fetched', { status: 503, retriable: true, cause });

export interface VerifierOptions {
  /**
   * Verified tokens remembered (by their exact text) until they expire, at most this many; 0 turns the
   * cache off. Apps send the same token with every call, and a token that verified once stays valid
   * until its exp: nothing in msgxc revokes tokens earlier.
   */
  cacheSize?: number;
  clock?: () => number;
}

export function createVerifier(config: Pick<Config, 'auth'>, options: VerifierOptions = {}): Verifier {
  const auth = config.auth;
  const key = keyFor(auth);
  const clock = options.clock ?? Date.now;
  // At most MSGXC_JWT_CACHE_SECONDS, so a changed roles-claim config applies soon.
  const cacheLifetimeMs = auth.cacheMs;
  const cacheSize = cacheLifetimeMs > 0 ? (options.cacheSize ?? 10_000) : 0;
  const cache = new Map<string, { principal: Principal; until: number }>();
  const verifyOptions: JWTVerifyOptions = {
    algorithms: [auth.algorithm],
    clockTolerance: auth.leewaySeconds,
    requiredClaims: ['sub', 'exp'],
    ...(auth.issuer === undefined ? {} : { issuer: auth.issuer }),
    ...(auth.audience === undefined ? {} : { audience: auth.audience }),
  };

  return {
    async verify(token) {
      if (token.length === 0) throw noCredentials('missing bearer token');
      const cached = cache.get(token);
      if (cached !== undefined) {
        if (cached.until > clock()) return cached.principal;
        cache.delete(token);
      }
      // A compact JWS is three base64url parts; refusing anything else early keeps jose's messages for real tokens.
      if (token.length > 8192 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
        throw unauthenticated('malformed token');
      }
      let payload: JWTPayload;
      try {
        // Two calls because jose overloads a key and a key getter separately; narrowing picks the overload.
        const verified =
          typeof key === 'function'
            ? await jwtVerify(token, key, verifyOptions)
            : await jwtVerify(token, key, verifyOptions);
        payload = verified.payload;
      } catch (error) {
        throw translate(error);
      }
      const uid = payload.sub;
      if (typeof uid !== 'string' || uid.length === 0 || uid.length > 256) {
        throw unauthenticated('the "sub" claim must be a non-empty string of at most 256 characters');
      }
      // The ingest contract's id rule: a sub the pipeline would refuse as a sender must not get this far.
      const subProblem = idProblem('the "sub" claim', uid);
      if (subProblem !== undefined) throw unauthenticated(subProblem);
      const roles = rolesOf(payload, auth.rolesClaim);
      const principal: Principal = {
        uid,
        admin: roles.includes(auth.adminRole),
        service: roles.includes(auth.serviceRole),
        claims: payload as Record<string, unknown>,
      };
      if (cacheSize > 0) {
        // exp is required, so every cached token has an end; the leeway it was accepted with applies too.
        const until = Math.min((payload.exp as number) * 1000 + auth.leewaySeconds * 1000, clock() + cacheLifetimeMs);
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
        cache.set(token, { principal, until });
      }
      return principal;
    },
  };
}

function keyFor(auth: AuthConfig): KeyObject | JWTVerifyGetKey {
  if (auth.algorithm === 'HS256') {
    if (auth.secret === undefined) {
      throw new MsgxcError('AUTH_NOT_CONFIGURED', 'MSGXC_JWT_SECRET is required when MSGXC_JWT_ALGORITHM is HS256');
    }
    // Imported once: handing jose raw bytes would import the key again on every verification.
    return createSecretKey(Buffer.from(auth.secret, 'utf8'));
  }
  if (auth.jwksUrl === undefined) {
    throw new MsgxcError(
      'AUTH_NOT_CONFIGURED',
      `MSGXC_JWT_JWKS_URL is required when MSGXC_JWT_ALGORITHM is ${auth.algorithm}`,
    );
  }
  return createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: 3000, cooldownDuration: 30_000 });
}

/** Reads the roles claim, which may be dotted (`realm_access.roles`), an array or a space-separated string. */
export function rolesOf(payload: Record<string, unknown>, claim: string): string[] {
  let value: unknown = payload;
  for (const part of claim.split('.')) {
    if (value === null || typeof value !== 'object') return [];
    value = (value as Record<string, unknown>)[part];
  }
  if (Array.isArray(value)) return value.filter((role): role is string => typeof role === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}

function translate(error: unknown): MsgxcError {
  if (error instanceof joseErrors.JWTExpired) return unauthenticated('token expired', error);
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return unauthenticated('token not yet valid', error);
    if (error.claim === 'aud') return unauthenticated('audience mismatch', error);
    if (error.claim === 'iss') return unauthenticated('issuer mismatch', error);
    if (error.reason === 'missing') return unauthenticated(`missing "${error.claim}" claim`, error);
    return unauthenticated(`invalid "${error.claim}" claim`, error);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return unauthenticated('algorithm not allowed', error);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return unauthenticated('bad signature', error);
  if (error instanceof joseErrors.JWKSNoMatchingKey) return unauthenticated('no key matches the token', error);
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) {
    return unauthenticated('malformed token', error);
  }
  if (error instanceof joseErrors.JOSENotSupported) return unauthenticated('unsupported token', error);
  if (error instanceof joseErrors.JWKSTimeout) return authUnavailable(error);
  // Key material the token pointed at (e.g. a JWK of the wrong type) is the token's problem.
  if (error instanceof joseErrors.JWKInvalid || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return unauthenticated('no usable key for the token', error);
  }
  // What is left is fetching or parsing the key set: the server's side.
  return authUnavailable(error);
}

/** The bearer token of an `Authorization` header, or a reason why there is none. */
export function bearerToken(header: string | undefined | null): string {
  if (header === undefined || header === null || header.length === 0) throw noCredentials('missing bearer token');
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (match === null) throw noCredentials('the Authorization header must be "Bearer <token>"');
  return match[1]!;
}
