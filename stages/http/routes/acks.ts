import { z } from 'zod';
import type { Acknowledgement } from '../../../schemas/index.ts';
import { dependency } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { traceOf } from '../requests.ts';
import type { Router } from '../router.ts';
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

export function addAckRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

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
