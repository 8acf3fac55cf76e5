import { SignJWT } from 'jose';

/**
 * The one signer of development tokens: HS256 with a shared secret, as `msgxc token`, the tests and the
 * benchmarks need. Production tokens come from the organisation's identity provider; nothing in the
 * running system calls this.
 */

export interface DevelopmentToken {
  /** The HS256 secret (MSGXC_JWT_SECRET). */
  secret: string;
  /** The user id (`sub`). */
  sub: string;
  /** Written at `rolesClaim`; a dotted claim (`realm_access.roles`) is nested the way the verifier reads it. */
  roles?: string[];
  rolesClaim?: string;
  /** Further claims, written over the roles. */
  claims?: Record<string, unknown>;
  /** A jose time span (`'10m'`, `'3600s'`) or an absolute `exp` in epoch seconds; default one hour. */
  expiresIn?: string | number;
  issuer?: string | null;
  audience?: string | null;
}

export function signDevelopmentToken(token: DevelopmentToken): Promise<string> {
  const roles = (token.rolesClaim ?? 'roles')
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), token.roles ?? []) as Record<string, unknown>;
  let builder = new SignJWT({ ...roles, ...token.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(token.sub)
    .setIssuedAt()
    .setExpirationTime(token.expiresIn ?? '1h');
  if (token.issuer) builder = builder.setIssuer(token.issuer);
  if (token.audience) builder = builder.setAudience(token.audience);
  return builder.sign(new TextEncoder().encode(token.secret));
}
