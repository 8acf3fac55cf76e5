import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { isInboxCursor } from '../../pipeline/store/inbox.ts';
import { extractToken, rejectUpgrade } from './handshake.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * The checks an HTTP upgrade passes before `ws` sees it: the path, the origin, the token (verified), and
 * the resume cursor. Whatever fails is answered with a plain HTTP error and never becomes a WebSocket.
 */

export interface GatewayPrincipal {
  uid: string;
  admin: boolean;
  service?: boolean;
  claims: Record<string, unknown>;
}

export interface AdmittedUpgrade {
  principal: GatewayPrincipal;
  /** The last message id the client saw (`?resume=`); null when it asks for no replay. */
  resumeAfter: string | null;
}

export interface UpgradeSettings {
  path: string;
  allowedOrigins: string[] | null;
  queryToken: boolean;
}

export interface UpgradeGate {
  settings: UpgradeSettings;
  metrics: GatewayMetrics;
  log: Logger;
  authenticate: (token: string) => Promise<GatewayPrincipal>;
  /** True once the gateway is shutting down: upgrades are refused with 503. */
  isClosed: () => boolean;
}

/** Resolves with the admitted upgrade, or with null once the socket was answered with an error. */
export async function admitUpgrade(
  gate: UpgradeGate,
  request: IncomingMessage,
  socket: Duplex,
): Promise<AdmittedUpgrade | null> {
  const { settings, metrics } = gate;
  const reject = (status: number, code: string, message: string, outcome: string) => {
    metrics.upgrades.inc({ outcome });
    rejectUpgrade(socket, status, code, message);
    return null;
  };
  if (gate.isClosed()) return reject(503, 'SHUTTING_DOWN', 'the gateway is shutting down', 'unavailable');
  const url = new URL(request.url ?? '/', 'http://gateway');
  if (url.pathname !== settings.path) {
    return reject(404, 'NOT_FOUND', `the WebSocket endpoint is ${settings.path}`, 'bad_request');
  }
  const origin = request.headers.origin;
  if (settings.allowedOrigins && (origin === undefined || !settings.allowedOrigins.includes(origin))) {
    return reject(403, 'FORBIDDEN_ORIGIN', 'origin not allowed', 'forbidden');
  }
  const resumeAfter = url.searchParams.get('resume');
  if (resumeAfter !== null && !isInboxCursor(resumeAfter)) {
    return reject(
      400,
      'BAD_CURSOR',
      'resume must be a message id (the id of the last message received)',
      'bad_request',
    );
  }
  const token = extractToken(request, settings);
  if (!token.ok) {
    return reject(token.status, token.code, token.message, token.status === 401 ? 'unauthenticated' : 'bad_request');
  }
  try {
    const principal = await gate.authenticate(token.token);
    if (socket.destroyed) return null;
    if (gate.isClosed()) return reject(503, 'SHUTTING_DOWN', 'the gateway is shutting down', 'unavailable');
    return { principal, resumeAfter };
  } catch (error) {
    if (!(error instanceof MsgxcError)) gate.log.error({ err: error }, 'authenticate failed unexpectedly');
    const message = error instanceof MsgxcError ? error.message : 'token could not be verified';
    if (error instanceof MsgxcError && error.status === 503)
      return reject(503, 'AUTH_UNAVAILABLE', message, 'unavailable');
    return reject(401, 'UNAUTHENTICATED', message, 'unauthenticated');
  }
}
