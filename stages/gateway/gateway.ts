import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../../pipeline/config/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { inboxCursorAt } from '../../pipeline/store/inbox.ts';
import type { DeliveryBatch } from '../../schemas/types.generated.ts';
import { Connection } from './connection.ts';
import { createDeliverer, type DeliverResult } from './deliver.ts';
import { type GatewayMetrics, gatewayMetrics } from './metrics.ts';
import { closeCodes, PROTOCOL } from './protocol.ts';
import { ConnectionRegistry } from './registry.ts';
import { type InboxReader, replayInbox } from './resume.ts';
import { checkInRecord, type GatewayRecord, handleMessage, type SessionContext } from './session.ts';
import { type AdmittedUpgrade, admitUpgrade, type GatewayPrincipal } from './upgrade.ts';

/**
 * The WebSocket gateway core: an http.Server whose upgrades are authenticated before `ws` sees them,
 * a registry of the sockets this process holds, heartbeats, slow-consumer limits, resume from the inbox
 * and `deliver(batch)`. It knows nothing of Kafka or Cassandra: authentication, thread permissions, the
 * inbox and the sink for acks and check-ins are passed in (`index.ts` wires the real ones), so it is
 * tested with real sockets alone. Like `ws`'s server and sockets, the Gateway owns the server-wide state
 * and each Connection (connection.ts) its own.
 */

export type { GatewayPrincipal } from './upgrade.ts';

export interface GatewayDependencies {
  /** Verifies a bearer token; throws MsgxcError UNAUTHENTICATED (401) or a 503 when it cannot tell. */
  authenticate: (token: string) => Promise<GatewayPrincipal>;
  /** May this user read (and so live-subscribe to) the thread? Admins are not asked. */
  canRead: (uid: string, tid: string) => Promise<boolean>;
  /** Takes acks, read markers and check-ins; rejects when they could not be recorded. */
  emit: (records: GatewayRecord[]) => Promise<void>;
  /** The per-user inbox a resuming client is replayed from; without it `?resume=` replays nothing. */
  inbox?: InboxReader;
}

export type GatewaySettings = Config['ws'];

export interface GatewayOptions extends GatewayDependencies {
  settings: GatewaySettings;
  log: Logger;
  /** Identifies this instance on check-ins; random when absent. */
  gatewayId?: string;
  metricsRegistry?: Registry;
  now?: () => number;
  /** Resolves once this instance consumes deliver.ws (readiness.ts); replays wait for it. Already when absent. */
  consuming?: Promise<void>;
}

/** How long a shutdown waits for close handshakes before it terminates what is left. */
const closeGraceMs = 2000;

export class Gateway {
  readonly gatewayId: string;
  readonly registry = new ConnectionRegistry();
  readonly deliver: (batch: DeliveryBatch) => DeliverResult;

  readonly #options: GatewayOptions;
  readonly #settings: GatewaySettings;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #metrics: GatewayMetrics;
  readonly #session: SessionContext;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  #port = 0;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#settings = options.settings;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#metrics = gatewayMetrics(options.metricsRegistry);
    this.gatewayId = options.gatewayId ?? randomUUID();
    this.#session = {
      settings: this.#settings,
      gatewayId: this.gatewayId,
      registry: this.registry,
      metrics: this.#metrics,
      log: this.#log,
      now: this.#now,
      canRead: options.canRead,
      emit: options.emit,
    };
    this.deliver = createDeliverer({ registry: this.registry, metrics: this.#metrics, now: this.#now });
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.#settings.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      // Answer with msgxc.v1 only: the `bearer.<jwt>` entry must never be echoed back.
      handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
    });
    this.#server = createServer((request, response) => this.#answerHttp(request, response));
    this.#server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#upgrade(request, socket, head),
    );
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `ws://${this.#settings.host}:${this.#port}${this.#settings.path}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#settings.port, this.#settings.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#heartbeat = setInterval(() => this.#tick(), this.#settings.heartbeatMs);
    this.#heartbeat.unref();
    this.#log.info(
      { gatewayId: this.gatewayId, port: this.#port, path: this.#settings.path },
      'WebSocket gateway listening',
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const closing = [...this.registry.all()].map(
      (connection) =>
        new Promise<void>((resolve) => {
          connection.socket.once('close', () => resolve());
          connection.close(closeCodes.goingAway, 'server shutting down', 'shutdown');
        }),
    );
    const grace = setTimeout(() => {
      for (const connection of this.registry.all()) connection.terminate('terminated');
    }, closeGraceMs);
    await Promise.all(closing);
    clearTimeout(grace);
    this.#wss.close();
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await stopped;
  }

  #answerHttp(request: IncomingMessage, response: ServerResponse): void {
    if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: !this.#closed, connections: this.registry.size }));
      return;
    }
    response.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
    response.end(JSON.stringify({ error: 'UPGRADE_REQUIRED', message: `open a WebSocket on ${this.#settings.path}` }));
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const onSocketError = (error: Error) => this.#log.debug({ err: error }, 'socket error during upgrade');
    socket.on('error', onSocketError);
    const gate = {
      settings: this.#settings,
      metrics: this.#metrics,
      log: this.#log,
      authenticate: this.#options.authenticate,
      isClosed: () => this.#closed,
    };
    void admitUpgrade(gate, request, socket).then((admitted) => {
      if (!admitted) return;
      socket.removeListener('error', onSocketError);
      this.#wss.handleUpgrade(request, socket, head, (ws) => {
        this.#metrics.upgrades.inc({ outcome: 'accepted' });
        this.#accept(ws, admitted, request);
      });
    });
  }

  #accept(socket: WebSocket, { principal, resumeAfter }: AdmittedUpgrade, request: IncomingMessage): void {
    const exp = principal.claims.exp;
    const userAgent = request.headers['user-agent'];
    const connection = new Connection(
      socket,
      {
        uid: principal.uid,
        admin: principal.admin || principal.service === true,
        connectedAt: this.#now(),
        userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : null,
        expiresAt: typeof exp === 'number' ? exp * 1000 : null,
      },
      this.#settings,
      this.#metrics,
      this.registry.written,
    );
    const inbox = resumeAfter === null ? undefined : this.#options.inbox;
    // Held back from before it is registered: a live frame arriving during the replay waits for it.
    if (inbox) connection.beginReplay();
    this.registry.add(connection);
    this.#metrics.connections.inc();
    socket.on('pong', () => connection.markAlive());
    socket.on('message', (data, isBinary) => handleMessage(this.#session, connection, toBuffer(data), isBinary));
    // ws closes the socket itself after an error (e.g. 1009 for an oversize frame); log, never throw.
    socket.on('error', (error) => this.#log.debug({ err: error, sessionId: connection.sessionId }, 'socket error'));
    socket.on('close', (code, reason) => {
      this.registry.remove(connection);
      this.#metrics.connections.dec();
      const why = connection.closeReason ?? `${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`;
      this.#emit([checkInRecord(this.#session, connection, 'disconnect', why)]);
    });
    connection.send({
      type: 'welcome',
      protocol: PROTOCOL,
      session: connection.sessionId,
      uid: connection.uid,
      heartbeatMs: this.#settings.heartbeatMs,
      cursor: resumeAfter ?? inboxCursorAt(connection.connectedAt),
    });
    this.#emit([checkInRecord(this.#session, connection, 'connect', null)]);
    if (inbox && resumeAfter !== null) {
      const consuming = this.#options.consuming ?? Promise.resolve();
      void consuming.then(() => replayInbox(connection, inbox, resumeAfter, this.#settings, this.#log));
    }
  }

  /** Heartbeat: terminates silent and closing sockets, closes expired ones, pings and checks in the rest. */
  #tick(): void {
    const checkIns: GatewayRecord[] = [];
    const at = this.#now();
    for (const connection of this.registry.all()) {
      if (connection.heartbeat(at) === 'pinged') {
        checkIns.push(checkInRecord(this.#session, connection, 'heartbeat', null));
      }
    }
    this.#emit(checkIns);
  }

  /** Check-ins are fire-and-forget: a sink failure is logged, never surfaced to a socket. */
  #emit(records: GatewayRecord[]): void {
    if (records.length === 0) return;
    this.#options.emit(records).catch((error: unknown) => {
      this.#log.warn({ err: error, records: records.length }, 'check-ins could not be recorded');
    });
  }
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const gateway = new Gateway(options);
  await gateway.listen();
  return gateway;
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
