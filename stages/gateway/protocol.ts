import { z } from 'zod';

/**
 * The gateway's frame protocol, version 1: one JSON object per WebSocket text frame, discriminated by
 * `type`. PROTOCOL.md is the client-facing description; this file is the truth it describes.
 */

export const PROTOCOL = 'msgxc.v1';

export const ackStatuses = ['delivered', 'opened', 'clicked', 'dismissed'] as const;
export type AckStatus = (typeof ackStatuses)[number];

const id = z.string().min(1).max(128);
/** Optional client correlation id, echoed on the reply or error a frame causes. */
const ref = z.string().max(64).optional();

// Unknown fields are ignored (z.object strips them) so a v1 server accepts frames from newer v1 clients.
const clientFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ack'),
    messageId: id,
    status: z.enum(ackStatuses),
    tid: id.optional(),
    /** For clicked: the action or URL chosen. */
    action: z.string().max(2048).optional(),
    /** When it happened on the client, epoch ms; the server's receive time when absent. */
    at: z.number().int().nonnegative().optional(),
    ref,
  }),
  z.object({ type: z.literal('checkin'), ref }),
  z.object({ type: z.literal('read'), tid: id, messageId: id, ref }),
  z.object({ type: z.literal('subscribe'), tid: id, ref }),
  z.object({ type: z.literal('unsubscribe'), tid: id, ref }),
  z.object({ type: z.literal('ping'), ref }),
]);

export type ClientFrame = z.infer<typeof clientFrame>;
export const clientFrameTypes = clientFrame.options.map((option) => option.shape.type.value);

/** Machine-readable codes of `error` frames. */
export type ErrorCode =
  | 'BAD_JSON'
  | 'BAD_FRAME'
  | 'UNKNOWN_TYPE'
  | 'BINARY_UNSUPPORTED'
  | 'FORBIDDEN'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'BUSY'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

export function parseClientFrame(text: string): ParsedFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: 'BAD_JSON', message: 'frame is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, code: 'BAD_FRAME', message: 'frame must be a JSON object' };
  }
  const record = json as Record<string, unknown>;
  const echo = typeof record.ref === 'string' && record.ref.length <= 64 ? { ref: record.ref } : {};
  if (typeof record.type !== 'string') {
    return { ok: false, code: 'BAD_FRAME', message: 'frame needs a string "type"', ...echo };
  }
  if (!(clientFrameTypes as string[]).includes(record.type)) {
    return { ok: false, code: 'UNKNOWN_TYPE', message: `unknown frame type "${record.type.slice(0, 32)}"`, ...echo };
  }
  const parsed = clientFrame.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return { ok: false, code: 'BAD_FRAME', message: `${where}${issue?.message ?? 'invalid frame'}`, ...echo };
  }
  return { ok: true, frame: parsed.data };
}

/** A message as the client sees it. `sentAt` is epoch milliseconds. */
export interface MessageFrame {
  type: 'message';
  id: string;
  tid: string | null;
  msg: string | null;
  subject: string | null;
  data: unknown;
  urgency: number;
  sentAt: number;
  variant: string | null;
}

export type ServerFrame =
  | MessageFrame
  | {
      type: 'welcome';
      protocol: typeof PROTOCOL;
      session: string;
      uid: string;
      heartbeatMs: number;
      /** Where this session starts: the resume cursor of a client that has not received a message yet. */
      cursor: string;
    }
  | { type: 'error'; code: ErrorCode; message: string; ref?: string }
  | { type: 'pong'; ref?: string }
  | { type: 'resumed'; replayed: number; cursor: string }
  | { type: 'subscribed'; tid: string; ref?: string }
  | { type: 'unsubscribed'; tid: string; ref?: string };

/** Frames are serialised once into a Buffer so one copy can be written to many sockets. */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}

/** WebSocket close codes the gateway uses (4000–4999 are the application's own). */
export const closeCodes = {
  goingAway: 1001,
  policyViolation: 1008,
  tryAgainLater: 1013,
  tokenExpired: 4001,
  slowConsumer: 4008,
} as const;
