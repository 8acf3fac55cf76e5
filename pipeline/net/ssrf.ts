import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { MsgxcError } from '../errors/index.ts';

/**
 * Web Push endpoints are URLs the system will later POST to on a client's behalf, so a client must not be
 * able to point them at the system's own network. An endpoint must be https and every address its host is
 * (literally, or by DNS) must be a public unicast one. The webpush delivery stage should check again before
 * sending (DNS can change); `isPublicAddress` is exported for that.
 */

export type Resolver = (hostname: string) => Promise<string[]>;

export interface EndpointGuardOptions {
  /** `host` or `host:port` entries exempt from the address check (tests' local receivers). */
  allowedHosts?: string[];
  resolve?: Resolver;
}

export interface EndpointGuard {
  /** Resolves when the endpoint may be used; throws a 400 `UNSAFE_ENDPOINT` otherwise. */
  check(endpoint: string): Promise<void>;
  /**
   * Checks the endpoint and returns the address that passed, so the caller connects to exactly that address
   * (no second DNS answer between check and connect: DNS rebinding).
   */
  pin(endpoint: string): Promise<PinnedAddress>;
}

export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

const unsafe = (reason: string) =>
  new MsgxcError('UNSAFE_ENDPOINT', reason, { status: 400, retriable: false, details: { path: ['endpoint'] } });

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

export function createEndpointGuard(options: EndpointGuardOptions = {}): EndpointGuard {
  const allowed = new Set((options.allowedHosts ?? []).map((host) => host.toLowerCase()));
  const resolve = options.resolve ?? systemResolver;
  const inspect = async (endpoint: string, resolveExempt: boolean): Promise<PinnedAddress | null> => {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw unsafe('endpoint is not a URL');
    }
    if (url.protocol !== 'https:') throw unsafe('endpoint must use https');
    if (url.username !== '' || url.password !== '') throw unsafe('endpoint must not carry credentials');
    // WHATWG URL parsing has already normalised 0x7f.1, 2130706433 and friends into dotted quads.
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const exempt = allowed.has(host.toLowerCase()) || allowed.has(url.host.toLowerCase());
    if (exempt && !resolveExempt) return null;
    const addresses = isIP(host) !== 0 ? [host] : await resolveOrRefuse(resolve, host);
    if (!exempt) {
      for (const address of addresses) {
        const reason = addressRefusal(address);
        if (reason !== null) throw unsafe(`endpoint host resolves to a ${reason} address`);
      }
    }
    const address = addresses[0]!;
    return { address, family: isIP(address) === 6 ? 6 : 4 };
  };
  return {
    async check(endpoint) {
      await inspect(endpoint, false);
    },
    async pin(endpoint) {
      return (await inspect(endpoint, true))!;
    },
  };
}

/** RFC 1035: a name of at most 253 characters in labels of 1 to 63 (the resolver answers EINVAL otherwise). */
const isDnsName = (host: string) =>
  host.replace(/\.$/, '').length <= 253 &&
  host
    .replace(/\.$/, '')
    .split('.')
    .every((label) => label.length >= 1 && label.length <= 63);

async function resolveOrRefuse(resolve: Resolver, host: string): Promise<string[]> {
  // A name no resolver could look up is the client's mistake, not a resolver outage (which is a 503).
  if (!isDnsName(host)) throw unsafe('endpoint host is not a valid DNS name');
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EAI_NONAME')
      throw unsafe('endpoint host does not resolve');
    throw new MsgxcError('DNS_UNAVAILABLE', 'could not resolve the endpoint host', { retriable: true, cause: error });
  }
  if (addresses.length === 0) throw unsafe('endpoint host does not resolve');
  return addresses;
}

export function isPublicAddress(address: string): boolean {
  return addressRefusal(address) === null;
}

/** Why an address is not a public unicast one, or null when it is. */
export function addressRefusal(address: string): string | null {
  const family = isIP(address);
  if (family === 4) return ipv4Refusal(ipv4ToNumber(address));
  if (family === 6) return ipv6Refusal(ipv6ToWords(address));
  return 'malformed';
}

const v4 = (cidr: string, reason: string) => {
  const [base, bits] = cidr.split('/') as [string, string];
  const size = Number(bits);
  const mask = size === 0 ? 0 : (0xffffffff << (32 - size)) >>> 0;
  return { network: (ipv4ToNumber(base) & mask) >>> 0, mask, reason };
};

const ipv4Ranges = [
  v4('0.0.0.0/8', '"this network"'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared (carrier-grade NAT)'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

function ipv4Refusal(value: number): string | null {
  for (const range of ipv4Ranges) if ((value & range.mask) >>> 0 === range.network) return range.reason;
  return null;
}

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0) >>> 0;
}

/** The eight 16-bit words of an IPv6 address, accepting `::` and a dotted IPv4 tail. */
function ipv6ToWords(address: string): number[] {
  let text = address.split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const value = ipv4ToNumber(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((word) => Number.parseInt(word, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
}

function ipv6Refusal(words: number[]): string | null {
  const [w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0, w6 = 0, w7 = 0] = words;
  const embeddedV4 = ((w6 << 16) >>> 0) + w7;
  const zeroHead = w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0;
  if (zeroHead && w5 === 0 && w6 === 0 && w7 === 0) return 'unspecified';
  if (zeroHead && w5 === 0 && w6 === 0 && w7 === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible) reach the IPv4 address inside.
  if (zeroHead && (w5 === 0xffff || w5 === 0)) return ipv4Refusal(embeddedV4);
  // 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) also lead to an IPv4 address.
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return ipv4Refusal(embeddedV4);
  if (w0 === 0x2002) return ipv4Refusal(((w1 << 16) >>> 0) + w2);
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 1) return 'private (local NAT64)';
  if (w0 === 0x100 && w1 === 0 && w2 === 0 && w3 === 0) return 'discard-only';
  if (w0 === 0x2001 && w1 === 0xdb8) return 'documentation';
  if (w0 === 0x2001 && w1 < 0x200) return 'special-purpose';
  if ((w0 & 0xfe00) === 0xfc00) return 'unique-local';
  if ((w0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((w0 & 0xffc0) === 0xfec0) return 'site-local';
  if ((w0 & 0xff00) === 0xff00) return 'multicast';
  return null;
}
