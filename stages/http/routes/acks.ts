import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Acknowledgement } from '../../../schemas/index.ts';
import { conflict, dependency, notFound } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { traceOf } from '../requests.ts';
import type { Env, Router } from '../router.ts';
import type { Validators } from '../validators.ts';
import { requireReader } from './threads.ts';

/**
 * Acknowledgements (receipts from apps and service workers) and read markers. The acting user always comes
 * from the token, never from the body. Acks answer `true` once Kafka acknowledged the record on `acks` (the
 * ack stage turns it into events and delivery state); a read marker is in Cassandra and its `read` ack on
 * `acks` when the call answers.
 */

const yes = { 200: { description: 'Done (durable).', schema: z.literal(true) } };

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

/** Recorded states that mean the message went out to the user (on some channel). */
export const deliveredStates = ['sent', 'delivered', 'opened', 'clicked', 'dismissed', 'read'];

export function addAckRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

  const delivered = async (messageId: string, uid: string) =>
    (await deps.messages.deliveryOf(messageId, uid)).some((state) =>
      deliveredStates.some((name) => name in state.states),
    );

  /**
   * Only a message delivered to the caller may be acknowledged: its per-recipient delivery state says so. An
   * unknown message is a 404 at once. The state is recorded from the delivery stages' events, which may trail
   * the frame or push the client already holds, so a known message is given `ackDeliveryWaitMs` for its
   * record to appear; after that the answer is 409 with Retry-After (a retry succeeds once it is there, and
   * never for a message that was not the caller's).
   */
  const requireDelivered = async (c: Context<Env>, messageId: string, uid: string) => {
    if (await delivered(messageId, uid)) return;
    if ((await deps.messages.getMessage(messageId)) === null) throw notFound('message');
    const deadline = Date.now() + deps.limits.ackDeliveryWaitMs;
    for (let pauseMs = 50; Date.now() < deadline; pauseMs = Math.min(pauseMs * 2, 500)) {
      await sleep(Math.min(pauseMs, Math.max(0, deadline - Date.now())));
      if (await delivered(messageId, uid)) return;
    }
    c.header('Retry-After', '1');
    throw conflict('NOT_DELIVERED', 'no delivery of this message to you is recorded (yet)');
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
      responses: {
        ...yes,
        404: { description: 'No such message.' },
        409: {
          description:
            'NOT_DELIVERED: no delivery of this message to the caller is recorded (yet); retry after Retry-After.',
        },
      },
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
        () => requireDelivered(c, body.messageId, principal.uid),
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
      await requireReader(deps, principal, body.tid);
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
}
