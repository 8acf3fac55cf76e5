import { z } from 'zod';
import { mayManage } from '../../../pipeline/store/thread.ts';
import { dependency, notFound } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import type { Router } from '../router.ts';
import type { Validators } from '../validators.ts';

/** A message's delivery summary: recipients per state and per channel. */

const summarySchema = z
  .object({
    messageId: z.string(),
    tid: z.string().nullable(),
    sender: z.string().nullable(),
    createdAt: z.int().nullable().meta({ description: 'Epoch milliseconds.' }),
    states: z.record(z.string(), z.int()),
    channels: z.record(z.string(), z.record(z.string(), z.int())),
    recipients: z.int(),
  })
  .meta({ title: 'DeliverySummary' });

export function addMessageRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;
  router.add(
    {
      method: 'get',
      path: '/api/v1/messages/:mid',
      operationId: 'deliverySummary',
      summary: "A message's delivery summary (its sender, the thread's owner and admins, admins and services).",
      tags: ['messages'],
      access: 'user',
      params: v.messageParam,
      responses: {
        200: { description: 'The summary.', schema: summarySchema },
        404: { description: 'No such message (or not yours to see).' },
      },
    },
    async ({ principal, params }) => {
      const summary = await dependency('cassandra', timeout, () => deps.messages.deliverySummary(params.mid));
      if (summary === null) throw notFound('message');
      let allowed = principal.admin || principal.service || summary.sender === principal.uid;
      if (!allowed && summary.tid !== null) {
        const tid = summary.tid;
        const thread = await dependency('cassandra', timeout, () => deps.threads.getThread(tid));
        allowed = thread !== null && mayManage(thread, principal);
      }
      // Not 403: a message id someone else sent says nothing to this caller.
      if (!allowed) throw notFound('message');
      return summary;
    },
  );
}
