import { z } from 'zod';

/** JWT verification (HTTP facade and WebSocket gateway). HS256 uses the shared secret; RS256/ES256 the JWKS URL. */
export const authEnv = z.object({
  MSGXC_JWT_ALGORITHM: z.enum(['HS256', 'RS256', 'ES256']).default('HS256'),
  MSGXC_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  MSGXC_JWT_JWKS_URL: z.url().optional(),
  MSGXC_JWT_ISSUER: z.string().optional(),
  MSGXC_JWT_AUDIENCE: z.string().optional(),
  MSGXC_JWT_LEEWAY_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  MSGXC_JWT_ROLES_CLAIM: z.string().default('roles'),
  MSGXC_JWT_ADMIN_ROLE: z.string().default('admin'),
  MSGXC_JWT_SERVICE_ROLE: z.string().default('service'),
  MSGXC_JWT_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
});

export interface AuthConfig {
  algorithm: 'HS256' | 'RS256' | 'ES256';
  /** HS256 shared secret; outside production a public development default when not configured. */
  secret: string | undefined;
  jwksUrl: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  leewaySeconds: number;
  rolesClaim: string;
  adminRole: string;
  serviceRole: string;
  /** How long a verified token is remembered at most (never past its exp); 0 = verify every time. */
  cacheMs: number;
}

/** The HS256 secret outside production when none is configured: public, so never for real users. */
export const developmentJwtSecret = 'msgxc-development-secret-do-not-use-in-production';

export function authConfig(env: z.infer<typeof authEnv>, production: boolean): AuthConfig {
  return {
    algorithm: env.MSGXC_JWT_ALGORITHM,
    // Development and test get a well-known secret so `npm start` works out of the box; production must set one.
    secret: env.MSGXC_JWT_SECRET ?? (production ? undefined : developmentJwtSecret),
    jwksUrl: env.MSGXC_JWT_JWKS_URL,
    issuer: env.MSGXC_JWT_ISSUER,
    audience: env.MSGXC_JWT_AUDIENCE,
    leewaySeconds: env.MSGXC_JWT_LEEWAY_SECONDS,
    rolesClaim: env.MSGXC_JWT_ROLES_CLAIM,
    adminRole: env.MSGXC_JWT_ADMIN_ROLE,
    serviceRole: env.MSGXC_JWT_SERVICE_ROLE,
    cacheMs: env.MSGXC_JWT_CACHE_SECONDS * 1000,
  };
}
