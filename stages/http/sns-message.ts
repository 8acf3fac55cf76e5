import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { MsgxcError } from '../../pipeline/errors/index.ts';

/**
 * Amazon SNS HTTP(S) messages as they arrive at a subscribed endpoint, verified the way AWS documents it:
 * the signing certificate must come from an allow-listed host over HTTPS (plain HTTP only on loopback, for
 * the local fake), and the Signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) must match the
 * canonical string of the message's fields.
 */

export interface SnsMessage {
  Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
}

const signedFields: Record<SnsMessage['Type'], (keyof SnsMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

const invalid = (field: string, reason: string) =>
  new MsgxcError('INVALID_REQUEST', `${field}: ${reason}`, {
    status: 400,
    details: { issues: [{ path: [field], message: reason }] },
  });
const forged = (reason: string) => new MsgxcError('INVALID_SIGNATURE', reason, { status: 403 });

export function parseSnsMessage(text: string): SnsMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('body', 'not JSON');
  }
  if (typeof value !== 'object' || value === null) throw invalid('body', 'not a JSON object');
  const message = value as Record<string, unknown>;
  if (!(typeof message.Type === 'string' && message.Type in signedFields))
    throw invalid('Type', 'unknown message type');
  for (const field of [
    'MessageId',
    'TopicArn',
    'Message',
    'Timestamp',
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ]) {
    if (typeof message[field] !== 'string') throw invalid(field, 'missing');
  }
  return message as unknown as SnsMessage;
}

/** True when `host` (`name` or `name:port`) matches an allow-list entry, `*` standing for one DNS label. */
export function hostAllowed(host: string, allowed: string[]): boolean {
  return allowed.some((pattern) => {
    const expression = pattern
      .toLowerCase()
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[a-z0-9-]+');
    return new RegExp(`^${expression}$`).test(host.toLowerCase());
  });
}

const loopback = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An SNS-provided URL (signing certificate, SubscribeURL) we may fetch, or an error saying why not. */
export function checkSnsUrl(value: string, allowed: string[], field: string): URL {
  if (!URL.canParse(value)) throw forged(`${field} is not a URL`);
  const url = new URL(value);
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && loopback.has(url.hostname));
  if (!secure) throw forged(`${field} is not HTTPS`);
  if (!hostAllowed(url.host, allowed)) throw forged(`${field} host ${url.host} is not allowed`);
  return url;
}

export type CertificateFetcher = (url: URL) => Promise<string>;

const fetchCertificate: CertificateFetcher = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
  if (!response.ok) throw new Error(`certificate answered ${response.status}`);
  return response.text();
};

/** Verifies messages, caching certificates by URL (SNS rotates them rarely; the cache is bounded). */
export function createSnsVerifier(allowedHosts: string[], fetcher: CertificateFetcher = fetchCertificate) {
  const certificates = new Map<string, Promise<KeyObject>>();
  function certificate(url: URL): Promise<KeyObject> {
    let key = certificates.get(url.href);
    if (!key) {
      if (certificates.size >= 32) certificates.clear();
      key = fetcher(url).then((pem) => createPublicKey(pem));
      key.catch(() => certificates.delete(url.href));
      certificates.set(url.href, key);
    }
    return key;
  }
  return async function verifySnsMessage(message: SnsMessage): Promise<void> {
    const url = checkSnsUrl(message.SigningCertURL, allowedHosts, 'SigningCertURL');
    if (!url.pathname.endsWith('.pem')) throw forged('SigningCertURL is not a certificate');
    const algorithm = message.SignatureVersion === '1' ? 'sha1' : message.SignatureVersion === '2' ? 'sha256' : null;
    if (algorithm === null) throw forged(`SignatureVersion ${message.SignatureVersion} is not supported`);
    const text = signedFields[message.Type]
      .filter((field) => message[field] !== undefined)
      .map((field) => `${field}\n${message[field]}\n`)
      .join('');
    let key: KeyObject;
    try {
      key = await certificate(url);
    } catch (error) {
      throw new MsgxcError('SERVICE_UNAVAILABLE', 'the SNS signing certificate could not be fetched', {
        status: 503,
        retriable: true,
        cause: error,
      });
    }
    if (!verify(algorithm, Buffer.from(text), key, Buffer.from(message.Signature, 'base64'))) {
      throw forged('the SNS message signature does not match');
    }
  };
}
