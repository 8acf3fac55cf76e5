import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROTOCOL } from './protocol.ts';

/**
 * Where the upgrade request carries the JWT. Browsers cannot set headers on a WebSocket, so they offer
 * the subprotocols `msgxc.v1, bearer.<jwt>`; the server answers with `msgxc.v1` only, so the token is
 * never echoed. A query-string token is accepted only when configured: URLs land in access logs.
 */
export type TokenSource = 'header' | 'protocol' | 'query';

export type HandshakeToken =
  | { ok: true; token: string; source: TokenSource }
  | { ok: false; status: 400 | 401; code: string; message: string };

const bearerPrefix = 'bearer.';

export function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return [];
  return header
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function extractToken(request: IncomingMessage, options: { queryToken: boolean }): HandshakeToken {
  const protocols = offeredProtocols(request);
  if (protocols.length > 0 && !protocols.includes(PROTOCOL)) {
    return { ok: false, status: 400, code: 'UNSUPPORTED_PROTOCOL', message: `offer the "${PROTOCOL}" subprotocol` };
  }
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) {
      return { ok: false, status: 401, code: 'UNAUTHENTICATED', message: 'Authorization must be "Bearer <jwt>"' };
    }
    return { ok: true, token: match[1], source: 'header' };
  }
  const fromProtocol = protocols.find((item) => item.startsWith(bearerPrefix));
  if (fromProtocol && fromProtocol.length > bearerPrefix.length) {
    return { ok: true, token: fromProtocol.slice(bearerPrefix.length), source: 'protocol' };
  }
  if (options.queryToken) {
    const token = new URL(request.url ?? '/', 'http://gateway').searchParams.get('access_token');
    if (token) return { ok: true, token, source: 'query' };
  }
  return { ok: false, status: 401, code: 'UNAUTHENTICATED', message: 'no bearer token' };
}

const reasons: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
};

/** Answers an upgrade with a plain HTTP error and closes the socket; nothing is upgraded. */
export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: code, message });
  const headers = [
    `HTTP/1.1 ${status} ${reasons[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="msgxc"'] : []),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
