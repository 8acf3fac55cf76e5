import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../../pipeline/config/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { DeliveryBatch } from '../../schemas/types.generated.ts';
import { createDeliverer, type DeliverResult } from './deliver.ts';
import { extractToken, rejectUpgrade } from './handshake.ts';
import { gatewayMetrics } from './metrics.ts';
import { closeCodes, encodeFrame, PROTOCOL, type ServerFrame } from './protocol.ts';
import { type Connection, type ConnectionRegistry, createConnectionRegistry } from './registry.ts';
import { checkInRecord, type GatewayRecord, handleMessage, type SessionContext } from './session.ts';

/**
 * The WebSocket gateway core: an http.Server whose upgrades are authenticated before `ws` sees them,
 * a registry of the sockets this process holds, heartbeats, slow-consumer limits and `deliver(batch)`.
 * It knows nothing of Kafka or Cassandra: authentication, thread permissions and the sink for acks
 * and check-ins are passed in (`index.ts` wires the real ones), so it is tested with real sockets alone.
 */

export interface GatewayPrincipal {
  uid: string;
  admin: boolean;
  service?: boolean;
  claims: Record<string, unknown>;
}

export interface GatewayDependencies {
  /** Verifies a bearer token; throws MsgxcError UNAUTHENTICATED (401) or a 503 when it cannot tell. */
  authenticate: (token: string) => Promise<GatewayPrincipal>;
  /** May this user read (and so live-subscribe to) the thread? Admins are not asked. */
  canRead: (uid: string, tid: string) => Promise<boolean>;
  /** Takes acks, read markers and check-ins; rejects when they could not be recorded. */
  emit: (records: GatewayRecord[]) => Promise<void>;
}

export type GatewaySettings = Config['ws'];

export interface GatewayOptions extends GatewayDependencies {
  settings: GatewaySettings;
  log: Logger;
  /** Identifies this instance on check-ins; random when absent. */
  gatewayId?: string;
  metricsRegistry?: Registry;
  now?: () => number;
}

export interface Gateway {
  readonly gatewayId: string;
  readonly port: number;
  readonly url: string;
  readonly registry: ConnectionRegistry;
  deliver(batch: DeliveryBatch): DeliverResult;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { settings, log } = options;
  const gatewayId = options.gatewayId ?? randomUUID();
  const now = options.now ?? Date.now;
  const metrics = gatewayMetrics(options.metricsRegistry);
  const registry = createConnectionRegistry();
  let closed = false;

  const emit = (records: GatewayRecord[]) => {
    if (records.length === 0) return;
    options.emit(records).catch((error: unknown) => {
      log.warn({ err: error, records: records.length }, 'check-ins could not be recorded');
    });
  };

  /** The one place frames reach a socket; enforces the slow-consumer limit before buffering more. */
  const write = (connection: Connection, frame: Buffer): boolean => {
    const socket = connection.socket;
    if (connection.closing || socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount + frame.length > settings.maxBufferedBytes) {
      close(connection, closeCodes.slowConsumer, 'slow consumer', 'slow_consumer');
      return false;
    }
    socket.send(frame, { binary: false });
    return true;
  };

  const send = (connection: Connection, frame: ServerFrame) => {
    if (write(connection, encodeFrame(frame))) metrics.framesOut.inc({ type: frame.type });
  };

  function close(connection: Connection, code: number, reason: string, metric: string) {
    if (connection.closing) return;
    connection.closing = true;
    connection.closeReason = `${code} ${reason}`;
    metrics.closes.inc({ reason: metric });
    // The close frame queues behind what is buffered; the next heartbeat terminates a socket that is
    // still not gone, so a client that stopped reading cannot hold the buffer.
    connection.socket.close(code, reason);
  }

  const context: SessionContext = {
    settings,
    gatewayId,
    registry,
    metrics,
    log,
    now,
    canRead: options.canRead,
    emit: options.emit,
    send,
    close,
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    // Answer with msgxc.v1 only: the `bearer.<jwt>` entry must never be echoed back.
    handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
  });

  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: !closed, connections: registry.size }));
      return;
    }
    response.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
    response.end(JSON.stringify({ error: 'UPGRADE_REQUIRED', message: `open a WebSocket on ${settings.path}` }));
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const onSocketError = (error: Error) => log.debug({ err: error }, 'socket error during upgrade');
    socket.on('error', onSocketError);
    const reject = (status: number, code: string, message: string, outcome: string) => {
      metrics.upgrades.inc({ outcome });
      rejectUpgrade(socket, status, code, message);
    };
    if (closed) return reject(503, 'SHUTTING_DOWN', 'the gateway is shutting down', 'unavailable');
    if (new URL(request.url ?? '/', 'http://gateway').pathname !== settings.path) {
      return reject(404, 'NOT_FOUND', `the WebSocket endpoint is ${settings.path}`, 'bad_request');
    }
    const origin = request.headers.origin;
    if (settings.allowedOrigins && (origin === undefined || !settings.allowedOrigins.includes(origin))) {
      return reject(403, 'FORBIDDEN_ORIGIN', 'origin not allowed', 'forbidden');
    }
    const token = extractToken(request, settings);
    if (!token.ok) {
      return reject(token.status, token.code, token.message, token.status === 401 ? 'unauthenticated' : 'bad_request');
    }
    options.authenticate(token.token).then(
      (principal) => {
        if (socket.destroyed) return;
        if (closed) return reject(503, 'SHUTTING_DOWN', 'the gateway is shutting down', 'unavailable');
        socket.removeListener('error', onSocketError);
        wss.handleUpgrade(request, socket, head, (ws) => {
          metrics.upgrades.inc({ outcome: 'accepted' });
          accept(ws, principal, request);
        });
      },
      (error: unknown) => {
        const unavailable = error instanceof MsgxcError && error.status === 503;
        if (!(error instanceof MsgxcError)) log.error({ err: error }, 'authenticate failed unexpectedly');
        const message = error instanceof MsgxcError ? error.message : 'token could not be verified';
        if (unavailable) reject(503, 'AUTH_UNAVAILABLE', message, 'unavailable');
        else reject(401, 'UNAUTHENTICATED', message, 'unauthenticated');
      },
    );
  });

  function accept(socket: WebSocket, principal: GatewayPrincipal, request: IncomingMessage) {
    const exp = principal.claims.exp;
    const userAgent = request.headers['user-agent'];
    const connection: Connection = {
      sessionId: randomUUID(),
      uid: principal.uid,
      // Platform admins and services may read every thread.
      admin: principal.admin || principal.service === true,
      socket,
      connectedAt: now(),
      userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : null,
      expiresAt: typeof exp === 'number' ? exp * 1000 : null,
      threads: new Set(),
      recent: new Map(),
      alive: true,
      invalidFrames: [],
      closing: false,
      closeReason: null,
      pending: 0,
    };
    registry.add(connection);
    metrics.connections.inc();
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('message', (data, isBinary) => {
      handleMessage(context, connection, toBuffer(data), isBinary);
    });
    // ws closes the socket itself after an error (e.g. 1009 for an oversize frame); log, never throw.
    socket.on('error', (error) => log.debug({ err: error, sessionId: connection.sessionId }, 'socket error'));
    socket.on('close', (code, reason) => {
      registry.remove(connection);
      metrics.connections.dec();
      const why = connection.closeReason ?? `${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`;
      emit([checkInRecord(context, connection, 'disconnect', why)]);
    });
    send(connection, {
      type: 'welcome',
      protocol: PROTOCOL,
      session: connection.sessionId,
      uid: connection.uid,
      heartbeatMs: settings.heartbeatMs,
    });
    emit([checkInRecord(context, connection, 'connect', null)]);
  }

  const heartbeat = setInterval(() => {
    const checkIns: GatewayRecord[] = [];
    const at = now();
    for (const connection of registry.all()) {
      if (connection.closing) {
        connection.closeReason ??= 'terminated';
        connection.socket.terminate();
      } else if (connection.expiresAt !== null && at >= connection.expiresAt) {
        close(connection, closeCodes.tokenExpired, 'token expired', 'token_expired');
      } else if (!connection.alive) {
        metrics.closes.inc({ reason: 'heartbeat' });
        connection.closeReason = 'heartbeat timeout';
        connection.socket.terminate();
      } else {
        connection.alive = false;
        connection.socket.ping();
        checkIns.push(checkInRecord(context, connection, 'heartbeat', null));
      }
    }
    emit(checkIns);
  }, settings.heartbeatMs);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ gatewayId, port, path: settings.path }, 'WebSocket gateway listening');

  return {
    gatewayId,
    port,
    url: `ws://${settings.host}:${port}${settings.path}`,
    registry,
    deliver: createDeliverer({ registry, write, metrics, now }),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      const closing = [...registry.all()].map(
        (connection) =>
          new Promise<void>((resolve) => {
            connection.socket.once('close', () => resolve());
            close(connection, closeCodes.goingAway, 'server shutting down', 'shutdown');
          }),
      );
      const grace = setTimeout(() => {
        for (const connection of registry.all()) connection.socket.terminate();
      }, 2000);
      await Promise.all(closing);
      clearTimeout(grace);
      wss.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
    },
  };
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
