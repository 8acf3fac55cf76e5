import type { Client } from 'cassandra-driver';
import { bindTo, date, execute, idempotent, type Row, text } from './shared.ts';

export interface Session {
  uid: string;
  sessionId: string;
  startedAt: Date;
  gateway: string | null;
  lastSeenAt: Date | null;
  endedAt: Date | null;
  durationMs: number | null;
  endReason: string | null;
}

/** The fields of the Avro `dev.msgxc.CheckIn` record the session store reads. */
export interface CheckInLike {
  type: 'connect' | 'heartbeat' | 'disconnect';
  sessionId: string;
  uid: string;
  /** Epoch ms of this check-in. */
  at: number;
  /** Epoch ms the connection opened: with uid and session id, the row's key. */
  connectedAt: number;
  gatewayId?: string | null;
  reason?: string | null;
}

const micros = (at: Date) => at.getTime() * 1000;

export type SessionStore = ReturnType<typeof createSessionStore>;

/**
 * Online sessions (one per WebSocket connection). Every write is an idempotent upsert of the row
 * keyed by (uid, startedAt, sessionId), and the timestamp-bearing writes use the event time as the
 * write timestamp, so check-ins may arrive repeated or out of order: a late heartbeat never moves
 * last_seen_at back, and a disconnect processed before its connect still yields one complete row.
 */
export function createSessionStore(client: Client) {
  const bound = bindTo(client);
  return {
    openSession: bound(openSession),
    heartbeat: bound(heartbeat),
    closeSession: bound(closeSession),
    recordCheckIn: bound(recordCheckIn),
    sessionsOf: bound(sessionsOf),
  };
}

async function openSession(
  client: Client,
  session: { uid: string; sessionId: string; startedAt: Date; gateway?: string | null },
) {
  await execute(
    client,
    'UPDATE sessions_by_user USING TIMESTAMP ? SET gateway = ?, last_seen_at = ? ' +
      'WHERE uid = ? AND started_at = ? AND session_id = ?',
    [
      micros(session.startedAt),
      session.gateway ?? undefined,
      session.startedAt,
      session.uid,
      session.startedAt,
      session.sessionId,
    ],
    'open a session',
    idempotent,
  );
}

async function heartbeat(client: Client, session: { uid: string; sessionId: string; startedAt: Date; at: Date }) {
  await execute(
    client,
    'UPDATE sessions_by_user USING TIMESTAMP ? SET last_seen_at = ? WHERE uid = ? AND started_at = ? AND session_id = ?',
    [micros(session.at), session.at, session.uid, session.startedAt, session.sessionId],
    'record a heartbeat',
    idempotent,
  );
}

/** Ends a session and returns its duration in ms. */
async function closeSession(
  client: Client,
  session: {
    uid: string;
    sessionId: string;
    startedAt: Date;
    endedAt: Date;
    reason?: string | null;
  },
): Promise<number> {
  const durationMs = Math.max(0, session.endedAt.getTime() - session.startedAt.getTime());
  await execute(
    client,
    'UPDATE sessions_by_user USING TIMESTAMP ? SET ended_at = ?, duration_ms = ?, end_reason = ?, last_seen_at = ? ' +
      'WHERE uid = ? AND started_at = ? AND session_id = ?',
    [
      micros(session.endedAt),
      session.endedAt,
      durationMs,
      session.reason ?? undefined,
      session.endedAt,
      session.uid,
      session.startedAt,
      session.sessionId,
    ],
    'close a session',
    idempotent,
  );
  return durationMs;
}

/** Applies one check-in record (connect, heartbeat or disconnect). */
async function recordCheckIn(client: Client, checkIn: CheckInLike): Promise<void> {
  const base = { uid: checkIn.uid, sessionId: checkIn.sessionId, startedAt: new Date(checkIn.connectedAt) };
  if (checkIn.type === 'connect') await openSession(client, { ...base, gateway: checkIn.gatewayId ?? null });
  else if (checkIn.type === 'heartbeat') await heartbeat(client, { ...base, at: new Date(checkIn.at) });
  else await closeSession(client, { ...base, endedAt: new Date(checkIn.at), reason: checkIn.reason ?? null });
}

/** A user's sessions, newest first. */
async function sessionsOf(client: Client, uid: string, limit = 50): Promise<Session[]> {
  const result = await execute(
    client,
    'SELECT uid, session_id, started_at, gateway, last_seen_at, ended_at, duration_ms, end_reason ' +
      'FROM sessions_by_user WHERE uid = ? LIMIT ?',
    [uid, limit],
    'read sessions',
  );
  return result.rows.map(toSession);
}

function toSession(row: Row): Session {
  const duration = row.get('duration_ms') as { toNumber(): number } | null;
  return {
    uid: row.get('uid') as string,
    sessionId: row.get('session_id') as string,
    startedAt: row.get('started_at') as Date,
    gateway: text(row, 'gateway'),
    lastSeenAt: date(row, 'last_seen_at'),
    endedAt: date(row, 'ended_at'),
    durationMs: duration === null ? null : duration.toNumber(),
    endReason: text(row, 'end_reason'),
  };
}
