import { types } from 'cassandra-driver';
import { MsgxcError } from '../errors/index.ts';
import type { Channel } from './shared.ts';

export type { StoredMessage } from '../../schemas/types.generated.ts';

/** Per-recipient states, most advanced first: a recipient's `state` is the first one it reached. */
export const STATE_PRECEDENCE = ['clicked', 'opened', 'read', 'dismissed', 'delivered', 'failed', 'sent', 'queued'];

export interface DeliveryUpdate {
  messageId: string;
  uid: string;
  channel: Channel;
  /** A delivery event type: queued, sent, delivered, failed, opened, clicked, dismissed, read, … */
  state: string;
  /** When it happened (epoch ms or Date). */
  at: number | Date;
  deviceId?: string | null;
  variant?: string | null;
  errorCode?: string | null;
  error?: string | null;
}

export interface DeliveryState {
  messageId: string;
  uid: string;
  channel: Channel;
  /** The most advanced state reached (see STATE_PRECEDENCE). */
  state: string;
  /** Every state reached and when it was first reached. */
  states: Record<string, Date>;
  errorCode: string | null;
  error: string | null;
  deviceId: string | null;
  variant: string | null;
  updatedAt: Date | null;
}

export interface DeliverySummary {
  messageId: string;
  tid: string | null;
  sender: string | null;
  createdAt: number | null;
  /** Recipients (uid and channel) per state, all channels together. */
  states: Record<string, number>;
  /** Recipients per channel and state. */
  channels: Record<string, Record<string, number>>;
  /** Recipients (uid and channel pairs) with any recorded state. */
  recipients: number;
}

export interface ReadMarker {
  messageId: string;
  updatedAt: Date;
}

const v1Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Message ids are time UUIDs (version 1); anything else is the caller's mistake (400). */
export function checkMessageId(messageId: string): string {
  if (!v1Pattern.test(messageId)) {
    throw new MsgxcError('INVALID_MESSAGE_ID', `not a message id (a time UUID): ${JSON.stringify(messageId)}`, {
      status: 400,
    });
  }
  return messageId.toLowerCase();
}

/** The UTC day (yyyymmdd) a message id's time falls on: its messages_by_thread partition. */
export function dayOf(messageId: string): number {
  const date = types.TimeUuid.fromString(messageId).getDate();
  return date.getUTCFullYear() * 10_000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
}

/** The message id's time in microseconds, used as a write timestamp so later messages win. */
export function microsOf(messageId: string): number {
  const { date, ticks } = types.TimeUuid.fromString(messageId).getDatePrecision();
  return date.getTime() * 1000 + Math.floor(ticks / 10);
}

/** The most advanced of the states reached. */
export function leadingState(states: Record<string, unknown>): string {
  return STATE_PRECEDENCE.find((state) => state in states) ?? Object.keys(states).sort()[0] ?? 'unknown';
}
