import type { Logger } from 'pino';
import { deliveryIdOf } from '../../pipeline/records/delivery.ts';
import type { Acknowledgement, CheckIn, CheckInType } from '../../schemas/types.generated.ts';
import type { GatewayMetrics } from './metrics.ts';
import { type ClientFrame, type ErrorCode, parseClientFrame, type ServerFrame } from './protocol.ts';
import type { Connection, ConnectionRegistry } from './registry.ts';

/**
 * What one client frame does. Every path ends in a reply, an error frame or nothing — never a throw:
 * a client's mistake costs it an error frame, and a client that keeps making them is closed with 1008.
 */

export type GatewayRecord =
  | { topic: 'acks'; key: string; value: Acknowledgement }
  | { topic: 'checkins'; key: string; value: CheckIn };

export interface SessionContext {
  settings: { maxSubscriptions: number };
  gatewayId: string;
  registry: ConnectionRegistry;
  metrics: GatewayMetrics;
  log: Logger;
  now: () => number;
  canRead: (uid: string, tid: string) => Promise<boolean>;
  emit: (records: GatewayRecord[]) => Promise<void>;
}

export function handleMessage(context: SessionContext, connection: Connection, data: Buffer, isBinary: boolean) {
  if (connection.closing) return;
  if (isBinary) {
    invalid(context, connection, 'BINARY_UNSUPPORTED', 'frames are JSON text', undefined);
    return;
  }
  const parsed = parseClientFrame(data.toString('utf8'));
  if (!parsed.ok) {
    invalid(context, connection, parsed.code, parsed.message, parsed.ref);
    return;
  }
  const frame = parsed.frame;
  context.metrics.framesIn.inc({ type: frame.type });
  switch (frame.type) {
    case 'ping':
      // An application-level ping also proves the client alive, like a pong to the server's ping.
      connection.markAlive();
      connection.send({ type: 'pong', ...ref(frame) });
      return;
    case 'unsubscribe':
      context.registry.unsubscribe(connection, frame.tid);
      connection.send({ type: 'unsubscribed', tid: frame.tid, ...ref(frame) });
      return;
    default:
      runPending(context, connection, frame);
  }
}

/** Frames that wait on the store or the sink; their failures become UNAVAILABLE error frames. */
function runPending(context: SessionContext, connection: Connection, frame: ClientFrame) {
  if (!connection.beginPending()) {
    connection.send({ type: 'error', code: 'BUSY', message: 'too many frames in flight', ...ref(frame) });
    return;
  }
  handleAsync(context, connection, frame)
    .catch((error: unknown) => {
      context.log.warn({ err: error, sessionId: connection.sessionId, frame: frame.type }, 'frame failed');
      connection.send({
        type: 'error',
        code: 'UNAVAILABLE',
        message: 'could not be recorded now; try again',
        ...ref(frame),
      });
    })
    .finally(() => {
      connection.endPending();
    });
}

async function handleAsync(context: SessionContext, connection: Connection, frame: ClientFrame): Promise<void> {
  switch (frame.type) {
    case 'subscribe': {
      if (connection.threads.has(frame.tid)) {
        connection.send({ type: 'subscribed', tid: frame.tid, ...ref(frame) });
        return;
      }
      if (connection.threads.size >= context.settings.maxSubscriptions) {
        connection.send({
          type: 'error',
          code: 'TOO_MANY_SUBSCRIPTIONS',
          message: `at most ${context.settings.maxSubscriptions} live subscriptions per connection`,
          ...ref(frame),
        });
        return;
      }
      if (!(await mayRead(context, connection, frame.tid))) {
        connection.send(forbidden(frame.tid, frame));
        return;
      }
      context.registry.subscribe(connection, frame.tid);
      connection.send({ type: 'subscribed', tid: frame.tid, ...ref(frame) });
      return;
    }
    case 'read': {
      if (!(await mayRead(context, connection, frame.tid))) {
        connection.send(forbidden(frame.tid, frame));
        return;
      }
      await context.emit([ackRecord(context, connection, 'read', frame.messageId, frame.tid, null, undefined)]);
      return;
    }
    case 'ack': {
      const sent = connection.sent(frame.messageId);
      const tid = frame.tid ?? sent?.tid ?? null;
      // A ws delivery is keyed by message and user (fanout's deliveryIdOf); a live thread copy has none.
      const deliveryId = sent?.addressed ? deliveryIdOf(frame.messageId, connection.uid, null) : null;
      await context.emit([ackRecord(context, connection, frame.status, frame.messageId, tid, deliveryId, frame)]);
      return;
    }
    case 'checkin':
      await context.emit([checkInRecord(context, connection, 'heartbeat', null)]);
      return;
    default:
      return;
  }
}

async function mayRead(context: SessionContext, connection: Connection, tid: string): Promise<boolean> {
  if (connection.admin) return true;
  return context.canRead(connection.uid, tid);
}

function forbidden(tid: string, frame: ClientFrame): ServerFrame {
  return { type: 'error', code: 'FORBIDDEN', message: `not allowed to read thread ${tid}`, ...ref(frame) };
}

function invalid(context: SessionContext, connection: Connection, code: ErrorCode, message: string, ref?: string) {
  context.metrics.framesIn.inc({ type: 'invalid' });
  if (connection.countInvalidFrame(context.now())) return;
  connection.send({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }) });
}

const ref = (frame: { ref?: string | undefined }) => (frame.ref === undefined ? {} : { ref: frame.ref });

function ackRecord(
  context: SessionContext,
  connection: Connection,
  type: Acknowledgement['type'],
  messageId: string,
  tid: string | null,
  deliveryId: string | null,
  frame: { at?: number | undefined; action?: string | undefined } | undefined,
): GatewayRecord {
  const receivedAt = context.now();
  return {
    topic: 'acks',
    key: messageId,
    value: {
      // One id per user, message and kind: a repeated ack (a reconnect, a retry) is recorded once.
      ackId: `ws:${connection.uid}:${messageId}:${type}`,
      type,
      messageId,
      uid: connection.uid,
      tid,
      channel: 'ws',
      deliveryId,
      deviceId: null,
      sessionId: connection.sessionId,
      action: frame?.action ?? null,
      at: frame?.at ?? receivedAt,
      receivedAt,
      source: 'ws',
      trace: null,
    },
  };
}

export function checkInRecord(
  context: Pick<SessionContext, 'now' | 'gatewayId'>,
  connection: Connection,
  type: CheckInType,
  reason: string | null,
): GatewayRecord {
  return {
    topic: 'checkins',
    key: connection.sessionId,
    value: {
      type,
      sessionId: connection.sessionId,
      uid: connection.uid,
      at: context.now(),
      connectedAt: connection.connectedAt,
      deviceId: null,
      gatewayId: context.gatewayId,
      reason,
      userAgent: connection.userAgent,
    },
  };
}
