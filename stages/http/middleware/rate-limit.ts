import type { MiddlewareHandler } from 'hono';
import { MsgxcError } from '../../../pipeline/errors/index.ts';
import type { Env } from '../router.ts';

/**
 * Rate limits, per process: token buckets keyed by user, by bearer token and by (user, thread) for publish.
 * A user who holds several tokens (devices) shares one user budget; one leaked or runaway token cannot use
 * all of it; and a user cannot flood one thread's subscribers however many tokens they hold. Over a limit the
 * answer is 429 with `Retry-After` (whole seconds until the next request fits). Admin and service tokens are
 * the system acting (broadcast tools, internal services) and are not limited here. A rate of 0 turns a limit off.
 */

export interface RateLimits {
  userPerSecond: number;
  userBurst: number;
  tokenPerSecond: number;
  tokenBurst: number;
  /** Publishes per minute by one user to one thread. */
  threadPerMinute: number;
  threadBurst: number;
}

export const noRateLimits: RateLimits = {
  userPerSecond: 0,
  userBurst: 0,
  tokenPerSecond: 0,
  tokenBurst: 0,
  threadPerMinute: 0,
  threadBurst: 0,
};

/** Keys remembered at most; the least recently refilled bucket goes first (it is the fullest anyway). */
const maxKeys = 100_000;

export interface Buckets {
  /** Takes one request from `key`'s bucket, or returns the milliseconds until one is there. */
  take(key: string): number;
}

export function createBuckets(perSecond: number, burst: number, clock: () => number): Buckets {
  const capacity = Math.max(1, burst);
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      if (perSecond <= 0) return 0;
      const now = clock();
      const bucket = buckets.get(key) ?? { tokens: capacity, at: now };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
      buckets.delete(key);
      if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    },
  };
}

export const rateLimited = (waitMs: number, what: string) =>
  new MsgxcError('RATE_LIMITED', `too many requests ${what}; retry after ${Math.max(1, Math.ceil(waitMs / 1000))} s`, {
    status: 429,
    details: { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) },
  });

/** The per-user and per-token limits, after authentication (the principal is known). */
export function limitRate(limits: RateLimits, clock: () => number): MiddlewareHandler<Env> {
  const users = createBuckets(limits.userPerSecond, limits.userBurst, clock);
  const tokens = createBuckets(limits.tokenPerSecond, limits.tokenBurst, clock);
  return async (c, next) => {
    const principal = c.get('principal');
    if (principal === undefined || principal.admin || principal.service) return next();
    const authorization = c.req.header('authorization') ?? '';
    // The signature part names the token without keeping the whole credential as a key.
    const tokenKey = authorization.slice(authorization.lastIndexOf('.') + 1);
    const wait = Math.max(users.take(principal.uid), tokens.take(tokenKey));
    if (wait > 0) throw rateLimited(wait, 'from this user or token');
    await next();
  };
}

/** Publishes by one user to one thread: a user cannot flood a thread's subscribers. */
export function threadLimiter(limits: RateLimits, clock: () => number) {
  const buckets = createBuckets(limits.threadPerMinute / 60, limits.threadBurst, clock);
  return (uid: string, tid: string): void => {
    const wait = buckets.take(`${uid}\u0000${tid}`);
    if (wait > 0) throw rateLimited(wait, 'to this thread');
  };
}
