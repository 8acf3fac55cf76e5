import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { developmentJwtSecret, parseConfig } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';
import { bearerToken, createVerifier, rolesOf } from './index.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const hsConfig = (extra: Record<string, string> = {}) =>
  parseConfig({ MSGXC_JWT_SECRET: secret, MSGXC_JWT_LEEWAY_SECONDS: '5', ...extra });
const key = new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);

const hs = (claims: Record<string, unknown>, alg = 'HS256') =>
  new SignJWT(claims).setProtectedHeader({ alg }).setSubject('u1').setExpirationTime('5m').sign(key);

async function reason(promise: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MsgxcError);
    const failure = error as MsgxcError;
    return { code: failure.code, status: failure.status, message: failure.message };
  }
  throw new Error('expected a rejection');
}

describe('HS256 verifier', () => {
  const verifier = createVerifier(hsConfig());

  it('accepts a valid token and reads uid and roles', async () => {
    const principal = await verifier.verify(await hs({ roles: ['admin'] }));
    expect(principal).toMatchObject({ uid: 'u1', admin: true, service: false });
    expect((await verifier.verify(await hs({ roles: 'service other' }))).service).toBe(true);
    expect((await verifier.verify(await hs({}))).admin).toBe(false);
  });

  it('refuses alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'u1', exp: now() + 60, roles: ['admin'] })).toString('base64url');
    expect(await reason(verifier.verify(`${header}.${body}.`))).toMatchObject({
      status: 401,
      message: 'algorithm not allowed',
    });
  });

  it('refuses another algorithm than the pinned one', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('u1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret.repeat(2)));
    expect((await reason(verifier.verify(token))).message).toBe('algorithm not allowed');
  });

  it('refuses a bad signature', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256'));
    expect((await reason(verifier.verify(token))).message).toBe('bad signature');
  });

  it('refuses expired tokens beyond the leeway and accepts them within it', async () => {
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setExpirationTime(now() - 60)
      .sign(key);
    expect((await reason(verifier.verify(expired))).message).toBe('token expired');
    const justExpired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setExpirationTime(now() - 2)
      .sign(key);
    expect((await verifier.verify(justExpired)).uid).toBe('u1');
  });

  it('refuses tokens used before nbf', async () => {
    const early = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setNotBefore(now() + 120)
      .setExpirationTime('5m')
      .sign(key);
    expect((await reason(verifier.verify(early))).message).toBe('token not yet valid');
  });

  it('requires sub and exp', async () => {
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(key);
    expect((await reason(verifier.verify(noSub))).message).toBe('missing "sub" claim');
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').sign(key);
    expect((await reason(verifier.verify(noExp))).message).toBe('missing "exp" claim');
  });

  it('refuses malformed tokens', async () => {
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', 'héllo.wörld.x', `${'a'.repeat(9000)}.b.c`, 'e30.e30.e30']) {
      const failure = await reason(verifier.verify(token));
      expect(failure.status).toBe(401);
      expect(failure.code).toBe('UNAUTHENTICATED');
    }
  });

  it('checks issuer and audience when configured', async () => {
    const strict = createVerifier(hsConfig({ MSGXC_JWT_ISSUER: 'https://id.example', MSGXC_JWT_AUDIENCE: 'msgxc' }));
    const good = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuer('https://id.example')
      .setAudience('msgxc')
      .setExpirationTime('5m')
      .sign(key);
    expect((await strict.verify(good)).uid).toBe('u1');
    const wrongAudience = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuer('https://id.example')
      .setAudience('someone-else')
      .setExpirationTime('5m')
      .sign(key);
    expect((await reason(strict.verify(wrongAudience))).message).toBe('audience mismatch');
    const wrongIssuer = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuer('https://evil.example')
      .setAudience('msgxc')
      .setExpirationTime('5m')
      .sign(key);
    expect((await reason(strict.verify(wrongIssuer))).message).toBe('issuer mismatch');
  });

  it('uses a configurable roles claim', async () => {
    const custom = createVerifier(
      hsConfig({ MSGXC_JWT_ROLES_CLAIM: 'realm_access.roles', MSGXC_JWT_ADMIN_ROLE: 'ops' }),
    );
    const token = await hs({ realm_access: { roles: ['ops'] }, roles: ['admin'] });
    expect((await custom.verify(token)).admin).toBe(true);
    expect((await custom.verify(await hs({ roles: ['admin'] }))).admin).toBe(false);
  });

  it('remembers a verified token until it expires, and only verified ones', async () => {
    let now = Date.now();
    const cached = createVerifier(hsConfig(), { clock: () => now });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setExpirationTime(Math.floor(now / 1000) + 60)
      .sign(key);
    const first = await cached.verify(token);
    expect(await cached.verify(token)).toBe(first);
    now += 66_000; // past exp plus the 5 s leeway: verified again, a new principal
    expect(await cached.verify(token)).not.toBe(first);
    const forged = `${token.slice(0, -4)}AAAA`;
    await expect(cached.verify(forged)).rejects.toThrow('bad signature');
    await expect(cached.verify(forged)).rejects.toThrow('bad signature');
    const uncached = createVerifier(hsConfig(), { cacheSize: 0 });
    expect(await uncached.verify(token)).not.toBe(await uncached.verify(token));
  });

  it('refuses to start without a secret', () => {
    expect(() => createVerifier(parseConfig({ MSGXC_ENV: 'production' }))).toThrow(/MSGXC_JWT_SECRET/);
    expect(() => createVerifier(parseConfig({ MSGXC_ENV: 'production', MSGXC_JWT_ALGORITHM: 'ES256' }))).toThrow(
      /MSGXC_JWT_JWKS_URL/,
    );
    // Outside production a public development secret keeps `npm start` working without setup.
    expect(parseConfig({}).auth.secret).toBe(developmentJwtSecret);
  });
});

describe('JWKS verifier', () => {
  let server: Server;
  let url: string;
  let available = true;
  const keys: JWK[] = [];
  type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let rsaPrivate: PrivateKey;
  let ecPrivate: PrivateKey;

  beforeAll(async () => {
    const rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    rsaPrivate = rsa.privateKey;
    ecPrivate = ec.privateKey;
    keys.push({ ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' });
    keys.push({ ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' });
    server = createServer((_request, response) => {
      if (!available) {
        response.writeHead(500).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('verifies RS256 tokens by kid and refuses ES256 ones when RS256 is pinned', async () => {
    const verifier = createVerifier(parseConfig({ MSGXC_JWT_ALGORITHM: 'RS256', MSGXC_JWT_JWKS_URL: url }));
    const rs = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .setSubject('u2')
      .setExpirationTime('5m')
      .sign(rsaPrivate);
    expect(await verifier.verify(rs)).toMatchObject({ uid: 'u2', admin: true });
    const es = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'ec' })
      .setSubject('u2')
      .setExpirationTime('5m')
      .sign(ecPrivate);
    expect((await reason(verifier.verify(es))).message).toBe('algorithm not allowed');
  });

  it('verifies ES256 tokens', async () => {
    const verifier = createVerifier(parseConfig({ MSGXC_JWT_ALGORITHM: 'ES256', MSGXC_JWT_JWKS_URL: url }));
    const es = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'ec' })
      .setSubject('u3')
      .setExpirationTime('5m')
      .sign(ecPrivate);
    expect((await verifier.verify(es)).uid).toBe('u3');
  });

  it('refuses an HS256 token signed with the public key (key confusion)', async () => {
    const verifier = createVerifier(parseConfig({ MSGXC_JWT_ALGORITHM: 'RS256', MSGXC_JWT_JWKS_URL: url }));
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa' })
      .setSubject('attacker')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(keys[0])));
    expect((await reason(verifier.verify(forged))).message).toBe('algorithm not allowed');
  });

  it('answers 503 when the key set cannot be fetched', async () => {
    available = false;
    try {
      const verifier = createVerifier(parseConfig({ MSGXC_JWT_ALGORITHM: 'RS256', MSGXC_JWT_JWKS_URL: url }));
      const rs = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
        .setSubject('u2')
        .setExpirationTime('5m')
        .sign(rsaPrivate);
      expect(await reason(verifier.verify(rs))).toMatchObject({ code: 'AUTH_UNAVAILABLE', status: 503 });
    } finally {
      available = true;
    }
  });
});

describe('helpers', () => {
  it('extracts bearer tokens', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer   abc')).toBe('abc');
    expect(() => bearerToken(undefined)).toThrow('missing bearer token');
    expect(() => bearerToken('Basic dXNlcjpwYXNz')).toThrow(/Bearer/);
    expect(() => bearerToken('Bearer a b')).toThrow(/Bearer/);
  });

  it('reads roles from arrays, strings and dotted claims', () => {
    expect(rolesOf({ roles: ['a', 1, 'b'] }, 'roles')).toEqual(['a', 'b']);
    expect(rolesOf({ scope: 'read admin' }, 'scope')).toEqual(['read', 'admin']);
    expect(rolesOf({ a: { b: ['x'] } }, 'a.b')).toEqual(['x']);
    expect(rolesOf({ a: 'x' }, 'a.b')).toEqual([]);
    expect(rolesOf({}, 'roles')).toEqual([]);
  });
});
