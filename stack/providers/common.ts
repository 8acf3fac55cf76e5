import { join } from 'node:path';

/**
 * What the local provider servers share: the loopback certificate, the record of what each received, and a
 * script hook through which tests make a server answer like a provider in trouble (410, 429, 503).
 */
export const certificateFile = join(import.meta.dirname, 'certs', 'localhost.crt');

export interface Received {
  provider: 'webpush' | 'apns' | 'fcm';
  at: number;
  /** The device: push-service subscription id, APNs device token, FCM registration token. */
  target: string;
  /** The request headers that matter on this wire (lower-case names). */
  headers: Record<string, string>;
  /** The notification as the device would see it: decrypted (Web Push) or parsed JSON. */
  payload: unknown;
  /** What the server answered. */
  status: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Decides the answer to one well-formed request; undefined lets the server accept it. */
export type Script = (request: {
  target: string;
  headers: Record<string, string>;
  payload: unknown;
}) => Answer | undefined;

export interface ProviderServer {
  url: string;
  port: number;
  received: Received[];
  /** Requests that failed verification (bad JWT, undecryptable payload, bad header), with why. */
  refused: { at: number; reason: string }[];
  script: Script | undefined;
  close(): Promise<void>;
}

/** A script answering 503 to everything while `down()` says so. */
export function downWhile(down: () => boolean, then?: Script): Script {
  return (request) => (down() ? { status: 503, body: { reason: 'ServiceUnavailable' } } : then?.(request));
}

export function headerRecord(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    record[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return record;
}

export async function readBody(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
