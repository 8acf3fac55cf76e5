import { describe, expect, it } from 'vitest';
import { MsgxcError } from '../errors/index.ts';
import { addressRefusal, createEndpointGuard, isPublicAddress, type Resolver } from './ssrf.ts';

const table: Record<string, string[]> = {
  'push.example': ['93.184.215.14'],
  'dual.example': ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', '93.184.215.14'],
  'rebind.example': ['93.184.215.14', '10.1.2.3'],
  'inside.example': ['192.168.1.20'],
  'mapped.example': ['::ffff:127.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
};
const resolve: Resolver = async (host) => {
  const addresses = table[host];
  if (addresses === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return addresses;
};

async function refusal(guard: ReturnType<typeof createEndpointGuard>, endpoint: string): Promise<string> {
  try {
    await guard.check(endpoint);
  } catch (error) {
    expect(error).toBeInstanceOf(MsgxcError);
    expect((error as MsgxcError).status).toBe(400);
    return (error as MsgxcError).message;
  }
  return 'accepted';
}

describe('addressRefusal', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['0.0.0.0', '"this network"'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'special-purpose'],
    ['not-an-ip', 'malformed'],
  ])('refuses %s as %s', (address, reason) => {
    expect(addressRefusal(address)).toBe(reason);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '172.15.255.255',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '2a00:1450:4001:80b::200a',
  ])('accepts %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('endpoint guard', () => {
  const guard = createEndpointGuard({ resolve });

  it('accepts https endpoints on public hosts', async () => {
    expect(await refusal(guard, 'https://push.example/wpush/v2/abc')).toBe('accepted');
    expect(await refusal(guard, 'https://dual.example:8443/x')).toBe('accepted');
    expect(await refusal(guard, 'https://93.184.215.14/x')).toBe('accepted');
  });

  it.each([
    ['http://push.example/x', 'endpoint must use https'],
    ['ftp://push.example/x', 'endpoint must use https'],
    ['not a url', 'endpoint is not a URL'],
    ['https://user:pw@push.example/x', 'endpoint must not carry credentials'],
    ['https://localhost/x', 'endpoint host resolves to a loopback address'],
    ['https://127.0.0.1/x', 'endpoint host resolves to a loopback address'],
    ['https://2130706433/x', 'endpoint host resolves to a loopback address'],
    ['https://0x7f.1/x', 'endpoint host resolves to a loopback address'],
    ['https://[::1]/x', 'endpoint host resolves to a loopback address'],
    ['https://[::ffff:127.0.0.1]/x', 'endpoint host resolves to a loopback address'],
    ['https://[::ffff:a9fe:a9fe]/x', 'endpoint host resolves to a link-local address'],
    ['https://[fd00::1]/x', 'endpoint host resolves to a unique-local address'],
    ['https://169.254.169.254/latest/meta-data', 'endpoint host resolves to a link-local address'],
    ['https://inside.example/x', 'endpoint host resolves to a private address'],
    ['https://rebind.example/x', 'endpoint host resolves to a private address'],
    ['https://mapped.example/x', 'endpoint host resolves to a loopback address'],
    ['https://nowhere.example/x', 'endpoint host does not resolve'],
    [`https://${'a'.repeat(64)}.example/x`, 'endpoint host is not a valid DNS name'],
    [`https://${'abcdefgh.'.repeat(29)}example/x`, 'endpoint host is not a valid DNS name'],
  ])('refuses %s', async (endpoint, reason) => {
    expect(await refusal(guard, endpoint)).toBe(reason);
  });

  it('lets allowlisted hosts through, by host or host:port', async () => {
    const byHost = createEndpointGuard({ resolve, allowedHosts: ['127.0.0.1'] });
    expect(await refusal(byHost, 'https://127.0.0.1:4443/push')).toBe('accepted');
    const byPort = createEndpointGuard({ resolve, allowedHosts: ['localhost:4443'] });
    expect(await refusal(byPort, 'https://localhost:4443/push')).toBe('accepted');
    expect(await refusal(byPort, 'https://localhost:4444/push')).toBe('endpoint host resolves to a loopback address');
    expect(await refusal(byPort, 'http://localhost:4443/push')).toBe('endpoint must use https');
  });

  it('reports a resolver outage as retriable, not as the client mistake', async () => {
    const broken = createEndpointGuard({
      resolve: async () => {
        throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
      },
    });
    await expect(broken.check('https://push.example/x')).rejects.toMatchObject({
      code: 'DNS_UNAVAILABLE',
      status: 503,
    });
  });
});
