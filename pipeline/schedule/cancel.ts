import type { DeliveryEvent } from '../../schemas/types.generated.ts';
import { buildDeliveryEvent } from '../../schemas/types.generated.ts';
import { MsgxcError } from '../errors/index.ts';
import type { RecordSink } from '../kafka/index.ts';
import type { ScheduleStore } from '../store/schedule.ts';
import { SCHEDULER_SOURCE } from './types.ts';

/**
 * Cancelling a scheduled request, for `DELETE /api/v1/scheduled/{requestId}`. Allowed to the request's
 * sender (the principal whose uid is the sender id: a user, or a service by its name) and to admins. The
 * store orders the cancel against scheduler claims with the same LWT, so the answer is final: a cancelled
 * request is never re-injected, and one already claimed or re-injected is reported as too late (409).
 */

/** The auth module's `Principal`, as far as cancelling needs it. */
export interface CancelPrincipal {
  uid: string;
  admin: boolean;
}

export interface CancelResult {
  requestId: string;
  state: 'cancelled';
  /** False when it had already been cancelled before this call (the call is idempotent). */
  changed: boolean;
}

export interface CancelDeps {
  schedule: Pick<ScheduleStore, 'getScheduled' | 'cancelScheduled'>;
  /** Where the `cancelled` event goes; omitted, no event is recorded. */
  events?: RecordSink;
  now?: () => number;
}

const notFound = (requestId: string) =>
  new MsgxcError('SCHEDULED_NOT_FOUND', `no scheduled request ${requestId}`, { status: 404, details: { requestId } });

export function createCanceller(deps: CancelDeps) {
  const now = deps.now ?? Date.now;
  return {
    async cancelScheduled(requestId: string, principal: CancelPrincipal): Promise<CancelResult> {
      const info = await deps.schedule.getScheduled(requestId);
      if (info === null) throw notFound(requestId);
      if (!principal.admin && principal.uid !== info.senderId) {
        throw new MsgxcError('FORBIDDEN', 'only the sender or an admin may cancel a scheduled request', {
          status: 403,
          details: { requestId },
        });
      }
      const at = now();
      const outcome = await deps.schedule.cancelScheduled(requestId, principal.uid, new Date(at));
      switch (outcome) {
        case 'already_cancelled':
          return { requestId, state: 'cancelled', changed: false };
        case 'too_late':
          throw new MsgxcError('SCHEDULED_TOO_LATE', `scheduled request ${requestId} has already been sent`, {
            status: 409,
            details: { requestId },
          });
        case 'not_found':
          throw notFound(requestId);
        case 'cancelled':
          await deps.events?.send([
            { topic: 'events', key: requestId, value: cancelledEvent(requestId, principal, at) },
          ]);
          return { requestId, state: 'cancelled', changed: true };
      }
    },
  };
}

export type Canceller = ReturnType<typeof createCanceller>;

function cancelledEvent(requestId: string, principal: CancelPrincipal, at: number): DeliveryEvent {
  return buildDeliveryEvent({
    eventId: `${requestId}:cancelled`,
    type: 'cancelled',
    at,
    messageId: null,
    requestId,
    deliveryId: null,
    uid: null,
    tid: null,
    channel: null,
    deviceId: null,
    urgency: null,
    experimentId: null,
    variant: null,
    reason: 'CANCELLED',
    detail: `cancelled by ${principal.admin ? 'admin ' : ''}${principal.uid}`,
    providerMessageId: null,
    attempt: null,
    source: SCHEDULER_SOURCE,
    trace: null,
  });
}
