import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { createVerifier } from './index.ts';
import { signDevelopmentToken } from './sign.ts';

const secret = 'sign-tests-secret-that-is-long-enough-for-hs256';

describe('signDevelopmentToken', () => {
  it('signs what the verifier accepts, roles nested at a dotted claim', async () => {
    const config = parseConfig({
      MSGXC_JWT_SECRET: secret,
      MSGXC_JWT_ROLES_CLAIM: 'realm_access.roles',
      MSGXC_JWT_ISSUER: 'https://id.test',
      MSGXC_JWT_AUDIENCE: 'msgxc',
    });
    const token = await signDevelopmentToken({
      secret,
      sub: 'alice',
      roles: ['admin'],
      rolesClaim: 'realm_access.roles',
      issuer: 'https://id.test',
      audience: 'msgxc',
    });
    const principal = await createVerifier(config).verify(token);
    expect([principal.uid, principal.admin, principal.service]).toEqual(['alice', true, false]);
  });

  it('signs tokens the verifier refuses once expired', async () => {
    const config = parseConfig({ MSGXC_JWT_SECRET: secret });
    const expired = await signDevelopmentToken({ secret, sub: 'bob', expiresIn: Math.floor(Date.now() / 1000) - 3600 });
    await expect(createVerifier(config).verify(expired)).rejects.toMatchObject({ status: 401 });
  });
});
