import { z } from 'zod';
import { dependency } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import type { Router } from '../router.ts';
import type { Validators } from '../validators.ts';

/**
 * Cancelling a request held for later (`opts.scheduledAt`), through the scheduler's canceller: its sender,
 * or an admin or service token. The schedule orders the cancel against the scheduler's claims, so the answer
 * is final: a cancelled request is never sent, and one already on its way is 409.
 */

const cancelledSchema = z
  .object({
    requestId: z.string(),
    state: z.literal('cancelled'),
    changed: z.boolean().meta({ description: 'False when it had been cancelled before this call.' }),
  })
  .meta({ title: 'CancelledRequest' });

export function addScheduledRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;
  router.add(
    {
      method: 'delete',
      path: '/api/v1/scheduled/:requestId',
      operationId: 'cancelScheduled',
      summary: 'Cancel a scheduled request (its sender, admins, services); repeating the call is harmless.',
      tags: ['messages'],
      access: 'user',
      params: v.requestIdParam,
      responses: {
        200: { description: 'Cancelled: it will not be sent.', schema: cancelledSchema },
        403: { description: 'Not the sender of this request (FORBIDDEN).' },
        404: { description: 'No request with this id is held for later (SCHEDULED_NOT_FOUND).' },
        409: { description: 'Too late: the request is being or has been sent (SCHEDULED_TOO_LATE).' },
      },
    },
    async ({ principal, params }) =>
      dependency('cassandra', timeout, () =>
        deps.scheduled.cancelScheduled(params.requestId, {
          uid: principal.uid,
          admin: principal.admin || principal.service,
        }),
      ),
  );
}
