import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way AWS does: rebuilds the canonical
 * request from what arrived, derives the signing key from the secret, compares. The local SNS and SES
 * servers accept only requests a real SDK signed with the configured credentials.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type SigV4Check = { ok: true; region: string } | { ok: false; reason: string };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export function verifySigV4(
  request: IncomingMessage,
  body: Buffer,
  service: string,
  credentials: AwsCredentials,
): SigV4Check {
  const header = request.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header);
  if (!match) return { ok: false, reason: 'no AWS4-HMAC-SHA256 Authorization header' };
  const [, credential, signedHeaders, signature] = match as unknown as [string, string, string, string];
  const [accessKeyId, date, region, scopeService, terminator] = credential.split('/');
  if (accessKeyId !== credentials.accessKeyId) return { ok: false, reason: 'unknown access key' };
  if (scopeService !== service || terminator !== 'aws4_request' || !date || !region) {
    return { ok: false, reason: `credential scope is not for ${service}` };
  }
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date)) return { ok: false, reason: 'x-amz-date does not match the scope' };
  const url = new URL(request.url ?? '/', 'http://local');
  const query = [...url.searchParams]
    .map(([key, value]) => [encode(key), encode(value)])
    .sort(([a, x], [b, y]) => (a === b ? (x! < y! ? -1 : 1) : a! < b! ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return { ok: false, reason: 'host is not signed' };
  const headers = names.map((name) => `${name}:${headerValue(request, name)}\n`).join('');
  const payload = String(request.headers['x-amz-content-sha256'] ?? sha256(body));
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== sha256(body)) return { ok: false, reason: 'payload hash differs' };
  const path = url.pathname
    .split('/')
    .map((segment) => encode(decodeURIComponent(segment)))
    .join('/');
  const canonical = [request.method, path, query, headers, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(toSign).digest();
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? { ok: true, region }
    : { ok: false, reason: 'signature does not match' };
}

function headerValue(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

/** RFC 3986 encoding as SigV4 wants it. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
