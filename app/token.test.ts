import { afterEach, describe, expect, it, vi } from 'vitest';
import { createVerifier } from '../pipeline/auth/index.ts';
import { parseConfig } from '../pipeline/config/index.ts';
import { run } from './token.ts';

afterEach(() => vi.restoreAllMocks());

async function tokenFor(config: ReturnType<typeof parseConfig>, args: string[]) {
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => printed.push(line));
  const code = await run(config, args);
  return { code, token: printed[0] };
}

describe('msgxc token', () => {
  it('signs a development token the verifier accepts, with the requested roles', async () => {
    const config = parseConfig({
      MSGXC_JWT_SECRET: 'a-test-secret-that-is-long-enough-for-hs256',
      MSGXC_JWT_AUDIENCE: 'msgxc',
    });
    const { code, token } = await tokenFor(config, ['alice', '--admin']);
    expect(code).toBe(0);
    const principal = await createVerifier(config).verify(token!);
    expect(principal).toMatchObject({ uid: 'alice', admin: true, service: false });
  });

  it('refuses in production', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const config = parseConfig({
      MSGXC_ENV: 'production',
      MSGXC_JWT_SECRET: 'a-test-secret-that-is-long-enough-for-hs256',
    });
    expect((await tokenFor(config, ['alice'])).code).toBe(1);
  });
});
