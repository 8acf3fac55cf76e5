import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../pipeline/config/index.ts';
import { createHarness, dropTestData, type Harness, harnessOver, jwtSecret, token } from './support.ts';

/**
 * The auth matrix through the real app: every way a token can be wrong gets a 401 with its reason (and
 * nothing is written), a valid token on a call it may not make gets a 403.
 */

const issuer = 'https://id.msgxc.test';
const audience = 'msgxc-api';
const claims = { iss: issuer, aud: audience };
const secretKey = new TextEncoder().encode(jwtSecret);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

let h: Harness;
let tid: string;

beforeAll(async () => {
  h = await createHarness({ MSGXC_JWT_ISSUER: issuer, MSGXC_JWT_AUDIENCE: audience });
  const response = await h.request('/api/v1/threads', {
    token: await token({ sub: 'auth-owner', claims }),
    json: { name: 'Auth', openPublish: true },
  });
  expect(response.status).toBe(201);
  tid = ((await response.json()) as { tid: string }).tid;
});

afterAll(async () => {
  await h?.close();
  if (h) await dropTestData(h.config);
});

const signed = (payload: Record<string, unknown>, alg = 'HS256', key: Uint8Array = secretKey) =>
  new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);

async function publishWith(authorization: string | null) {
  const headers: Record<string, string> = {};
  if (authorization !== null) headers.authorization = authorization;
  return h.request('/api/v1/publish', { headers, json: { tid, msg: 'auth matrix' } });
}

describe('auth matrix', () => {
  const valid = { sub: 'auth-user', exp: now() + 600, ...claims };

  // RFC 6750 §3.1: a request without any bearer token gets the challenge without an error code.
  it.each<[string, string | null, string]>([
    ['no Authorization header', null, 'missing bearer token'],
    ['an empty header', '', 'missing bearer token'],
    ['another scheme', 'Basic dXNlcjpwYXNz', 'the Authorization header must be "Bearer <token>"'],
  ])('refuses %s with 401 and a challenge without error code', async (_name, header, reason) => {
    const response = await publishWith(header);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="msgxc"');
    expect(await response.json()).toEqual({ error: 'UNAUTHENTICATED', message: reason });
  });

  it.each<[string, () => Promise<string | null>, string]>([
    ['a malformed token', async () => 'Bearer not-a-jwt', 'malformed token'],
    ['garbage in three parts', async () => 'Bearer e30.e30.e30', 'malformed token'],
    [
      'alg none',
      async () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...valid, roles: ['admin'] })}.`,
      'algorithm not allowed',
    ],
    [
      'another HMAC algorithm',
      async () => `Bearer ${await signed(valid, 'HS512', new TextEncoder().encode(jwtSecret.repeat(2)))}`,
      'algorithm not allowed',
    ],
    [
      'an RS256 token',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return `Bearer ${await new SignJWT(valid).setProtectedHeader({ alg: 'RS256' }).sign(privateKey)}`;
      },
      'algorithm not allowed',
    ],
    [
      'a bad signature',
      async () => `Bearer ${await signed(valid, 'HS256', new TextEncoder().encode('x'.repeat(48)))}`,
      'bad signature',
    ],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await signed(valid)).split('.');
        return `Bearer ${header}.${b64({ ...valid, roles: ['admin'] })}.${signature}`;
      },
      'bad signature',
    ],
    ['an expired token', async () => `Bearer ${await signed({ ...valid, exp: now() - 3600 })}`, 'token expired'],
    [
      'a token not valid yet',
      async () => `Bearer ${await signed({ ...valid, nbf: now() + 3600 })}`,
      'token not yet valid',
    ],
    ['a wrong audience', async () => `Bearer ${await signed({ ...valid, aud: 'another-api' })}`, 'audience mismatch'],
    ['a wrong issuer', async () => `Bearer ${await signed({ ...valid, iss: 'https://evil.test' })}`, 'issuer mismatch'],
    ['no sub', async () => `Bearer ${await signed({ exp: now() + 600, ...claims })}`, 'missing "sub" claim'],
    ['no exp', async () => `Bearer ${await signed({ sub: 'auth-user', ...claims })}`, 'missing "exp" claim'],
  ])('refuses %s with 401 and the reason', async (_name, header, reason) => {
    const response = await publishWith(await header());
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer error="invalid_token"');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(await response.json()).toEqual({ error: 'UNAUTHENTICATED', message: reason });
  });

  it('accepts a valid token (the leeway covers a few seconds of clock skew)', async () => {
    expect((await publishWith(`Bearer ${await signed(valid)}`)).status).toBe(200);
    expect((await publishWith(`Bearer ${await signed({ ...valid, exp: now() - 5 })}`)).status).toBe(200);
  });

  it('checks the token before the body', async () => {
    const response = await h.request('/api/v1/publish', { json: { nonsense: true } });
    expect(response.status).toBe(401);
  });

  it('answers 403 to a user on an admin route, and lets admin and service tokens through', async () => {
    const body = { msg: 'everyone', opts: {} };
    const user = await h.request('/api/v1/broadcast', { token: await token({ sub: 'auth-user', claims }), json: body });
    expect(user.status).toBe(403);
    expect(await user.json()).toMatchObject({ error: 'FORBIDDEN' });
    for (const roles of [['admin'], ['service']]) {
      const response = await h.request('/api/v1/broadcast', {
        token: await token({ sub: 'ops', roles, claims }),
        json: body,
      });
      expect(response.status).toBe(200);
    }
  });

  it('answers 403 to a user publishing to a thread that is not open to them', async () => {
    const owner = await token({ sub: 'closed-owner', claims });
    const created = await h.request('/api/v1/threads', { token: owner, json: { name: 'Closed' } });
    const closed = ((await created.json()) as { tid: string }).tid;
    const stranger = await token({ sub: 'stranger', claims });
    const publish = await h.request('/api/v1/publish', { token: stranger, json: { tid: closed, msg: 'hi' } });
    expect(publish.status).toBe(403);
    const subscribe = await h.request('/api/v1/subscribe', { token: stranger, json: { tid: closed } });
    expect(subscribe.status).toBe(403);
    const patch = await h.request(`/api/v1/threads/${closed}`, {
      method: 'PATCH',
      token: stranger,
      json: { name: 'x' },
    });
    expect(patch.status).toBe(403);
    const admins = await h.request(`/api/v1/threads/${closed}`, {
      method: 'PATCH',
      token: await token({ sub: 'service-x', roles: ['service'], claims }),
      json: { admins: ['helper'] },
    });
    expect(admins.status).toBe(200);
    const helper = await token({ sub: 'helper', claims });
    const byHelper = await h.request(`/api/v1/threads/${closed}`, {
      method: 'PATCH',
      token: helper,
      json: { admins: [] },
    });
    expect(byHelper.status).toBe(403);
    expect((await h.request('/api/v1/publish', { token: helper, json: { tid: closed, msg: 'hi' } })).status).toBe(200);
  });
});

describe('RS256 and ES256 through a JWKS URL', () => {
  let server: Server;
  let url: string;
  const keys: Record<string, unknown>[] = [];

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(['RS256', 'ES256'] as const)('verifies %s tokens by kid and refuses HS256 ones', async (alg) => {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    const kid = `${alg}-key`;
    keys.push({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' });
    const config = parseConfig({ ...process.env, ...configEnv(h), MSGXC_JWT_ALGORITHM: alg, MSGXC_JWT_JWKS_URL: url });
    const other = harnessOver(config);
    try {
      const good = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg, kid })
        .setSubject('jwks-admin')
        .setExpirationTime('5m')
        .sign(privateKey);
      expect((await other.request('/api/v1/send', { token: good, json: { msg: 'hi', uid: 'u' } })).status).toBe(200);
      const hs = await token({ sub: 'jwks-admin', roles: ['admin'] });
      const refused = await other.request('/api/v1/send', { token: hs, json: { msg: 'hi', uid: 'u' } });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ message: 'algorithm not allowed' });
    } finally {
      await other.close();
    }
  });
});

/** The environment that points another harness at the same keyspace and topics. */
function configEnv(harness: Harness): Record<string, string> {
  return {
    MSGXC_CASSANDRA_KEYSPACE: harness.config.cassandra.keyspace,
    MSGXC_TOPIC_PREFIX: harness.config.kafka.topicPrefix,
    MSGXC_LOG_LEVEL: harness.config.logLevel,
  };
}
