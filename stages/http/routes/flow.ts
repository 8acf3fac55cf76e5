import { z } from 'zod';
import type { Principal } from '../../../pipeline/auth/index.ts';
import { mayPublish, maySubscribe } from '../../../pipeline/store/thread.ts';
import type { Acknowledgement, StoredMessage } from '../../../schemas/index.ts';
import { dependency, notFound } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { traceOf } from '../requests.ts';
import type { Router } from '../router.ts';
import type { Validators } from '../validators.ts';

/**
 * The delivery flow's calls: acknowledgements (receipts from apps and service workers), read markers, and
 * catch-up after a reconnect. The acting user always comes from the token, never from the body. Acks answer
 * `true` once Kafka acknowledged the record on `acks` (the ack stage turns it into events and delivery
 * state); a read marker is in Cassandra and its `read` ack on `acks` when the call answers.
 */

const yes = { 200: { description: 'Done (durable).', schema: z.literal(true) } };

export const catchUpMessageSchema = z
  .object({
    id: z.string().meta({ description: 'The message id (a time UUID: ids order a thread).' }),
    tid: z.string(),
    subject: z.string().nullable(),
    msg: z.string().nullable(),
    data: z.unknown().meta({ description: 'The message data as JSON (the string when it was not JSON).' }),
    urgency: z.int(),
    sender: z.object({ kind: z.string(), id: z.string() }).nullable(),
    sentAt: z.int().meta({ description: 'When the request was accepted, epoch milliseconds.' }),
  })
  .meta({ title: 'CatchUpMessage' });

export type CatchUpMessage = z.output<typeof catchUpMessageSchema>;

export const catchUpSchema = z
  .object({
    tid: z.string(),
    after: z.string().nullable().meta({ description: 'Where this page starts (exclusive); null = the newest.' }),
    messages: z.array(catchUpMessageSchema).meta({ description: 'Oldest first.' }),
    more: z.boolean().meta({
      description:
        'The limit cut messages off: newer ones when `after` is set (ask again after the last id), older ones otherwise.',
    }),
  })
  .meta({ title: 'CatchUp' });

/** A stored message as catch-up returns it: the WebSocket `message` frame's fields, plus the sender. */
export function catchUpMessage(message: StoredMessage, tid: string): CatchUpMessage {
  return {
    id: message.messageId,
    tid,
    subject: message.subject,
    msg: message.msg,
    data: parseJson(message.data),
    urgency: message.urgency,
    sender: message.sender,
    sentAt: message.createdAt,
  };
}

/** `data` is stored as a JSON string; clients get JSON (or the string when it is not JSON), like the gateway's frames. */
function parseJson(data: string | null): unknown {
  if (data === null) return null;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/**
 * One page from up to `limit + 1` messages: the extra one only tells whether the limit cut messages off.
 * After a marker the page is the oldest `limit`; without one it is the newest `limit`.
 */
export function catchUpPage<T>(messages: T[], limit: number, after: string | null): { messages: T[]; more: boolean } {
  const more = messages.length > limit;
  if (!more) return { messages, more };
  return { messages: after === null ? messages.slice(messages.length - limit) : messages.slice(0, limit), more };
}

type AckFields = Pick<Acknowledgement, 'type' | 'messageId' | 'uid'> & Partial<Acknowledgement>;

/**
 * An `acks` record from the HTTP API. The ack id is one per user, message, channel and kind, so a client
 * retrying the call is recorded once downstream.
 */
export function httpAck(fields: AckFields & { at: number; receivedAt: number }): Acknowledgement {
  const channel = fields.channel ?? null;
  return {
    ackId: `http:${fields.uid}:${fields.messageId}:${channel === null ? '' : `${channel}:`}${fields.type}`,
    type: fields.type,
    messageId: fields.messageId,
    uid: fields.uid,
    tid: fields.tid ?? null,
    channel,
    deliveryId: fields.deliveryId ?? null,
    deviceId: fields.deviceId ?? null,
    sessionId: null,
    action: fields.action ?? null,
    at: fields.at,
    receivedAt: fields.receivedAt,
    source: 'http',
    trace: fields.trace ?? null,
  };
}

export function addFlowRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

  /** Readers of a thread: whoever may take part in it (as for `GET /threads/{tid}`), and its subscribers. */
  const requireReader = async (principal: Principal, tid: string): Promise<void> => {
    const thread = await dependency('cassandra', timeout, () => deps.threads.getThread(tid));
    const reads =
      thread !== null &&
      (maySubscribe(thread, principal) ||
        mayPublish(thread, principal) ||
        (await dependency('cassandra', timeout, () => deps.threads.isSubscribed(tid, principal.uid))));
    // Not 403: whether a private thread exists is not the caller's business.
    if (!reads) throw notFound('thread');
  };

  /** Encodes first (a registry outage fails before anything is written), sends after `write`. */
  const sendAck = async (ack: Acknowledgement, write?: () => Promise<void>) => {
    const record = await dependency('schema registry', timeout, () => deps.acks.prepare(ack, ack.messageId));
    if (write !== undefined) await dependency('cassandra', timeout, write);
    await dependency('kafka', timeout, () => deps.acks.send([record]));
  };

  router.add(
    {
      method: 'post',
      path: '/api/v1/ack',
      operationId: 'ack',
      summary: 'Acknowledge a message: delivered, opened, clicked or dismissed, as the calling user.',
      description: 'Repeats of the same acknowledgement (user, message, channel, status) are recorded once.',
      tags: ['flow'],
      access: 'user',
      body: v.ack,
      idempotent: true,
      responses: yes,
    },
    async ({ c, principal, body }) => {
      const receivedAt = deps.clock();
      await sendAck(
        httpAck({
          ...body,
          type: body.status,
          uid: principal.uid,
          at: body.at ?? receivedAt,
          receivedAt,
          trace: traceOf(c),
        }),
      );
      return true;
    },
  );

  router.add(
    {
      method: 'post',
      path: '/api/v1/read',
      operationId: 'read',
      summary: "Move the caller's read marker in a thread forward to a message.",
      description: 'The marker only moves forward: an older message id (a late or repeated call) leaves it as it is.',
      tags: ['flow'],
      access: 'user',
      body: v.read,
      idempotent: true,
      responses: { ...yes, 404: { description: 'No such thread, or not one the caller reads.' } },
    },
    async ({ c, principal, body }) => {
      await requireReader(principal, body.tid);
      const at = deps.clock();
      const read = httpAck({
        type: 'read',
        messageId: body.messageId,
        uid: principal.uid,
        tid: body.tid,
        at,
        receivedAt: at,
        trace: traceOf(c),
      });
      // The marker is what catch-up starts from; the ack makes the `read` event the reports count.
      await sendAck(read, () => deps.messages.setReadMarker(principal.uid, body.tid, body.messageId, new Date(at)));
      return true;
    },
  );

  router.add(
    {
      method: 'get',
      path: '/api/v1/threads/:tid/messages',
      operationId: 'catchUp',
      summary: "A thread's messages after a message (catch-up after a reconnect), oldest first.",
      description:
        "Without `after`, starts at the caller's read marker, or returns the newest `limit` when there is none.",
      tags: ['flow'],
      access: 'user',
      params: v.tidParam,
      query: v.catchUpQuery,
      responses: {
        200: { description: 'One page of messages.', schema: catchUpSchema },
        404: { description: 'No such thread, or not one the caller reads.' },
      },
    },
    async ({ principal, params, query }) => {
      const { tid } = params;
      await requireReader(principal, tid);
      const after =
        query.after ??
        (await dependency('cassandra', timeout, () => deps.messages.readMarker(principal.uid, tid)))?.messageId ??
        null;
      const stored = await dependency('cassandra', timeout, () =>
        deps.messages.messagesAfter(tid, after, query.limit + 1),
      );
      const page = catchUpPage(stored, query.limit, after);
      return { tid, after, messages: page.messages.map((message) => catchUpMessage(message, tid)), more: page.more };
    },
  );
}
