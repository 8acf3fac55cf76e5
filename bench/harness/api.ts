import { SignJWT } from 'jose';
import { jwtSecret } from './system.ts';

/** The HTTP API as an app calls it: JSON over fetch with a bearer token. */

export async function tokenFor(uid: string, roles: string[] = []): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uid)
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(new TextEncoder().encode(jwtSecret));
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Api {
  call<T = unknown>(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiAnswer<T>>;
  /** A call that must answer 2xx; anything else fails with the answer in the message. */
  ok<T = unknown>(method: string, path: string, token: string, body?: unknown): Promise<ApiAnswer<T>>;
}

export function createApi(baseUrl: string): Api {
  const call = async <T>(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer<T>> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...headers,
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: keep the text, which the failure message shows.
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  };
  return {
    call,
    async ok(method, path, token, body) {
      const answer = await call<never>(method, path, token, body);
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      }
      return answer;
    },
  };
}

/** Polls `check` until it returns a value other than undefined; the last error or value explains a timeout. */
export async function eventually<T>(
  label: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const until = Date.now() + (options.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${label}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}
