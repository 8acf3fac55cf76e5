import { z } from 'zod';
import { mayManage, mayPublish } from '../../../pipeline/store/thread.ts';
import type { RequestKind } from '../../../schemas/index.ts';
import { dependency, forbidden, notFound } from '../errors.ts';
import { threadLimiter } from '../middleware/rate-limit.ts';
import type { AppDeps } from '../ports.ts';
import { ingestRequest, produceIngest, type Target, traceOf } from '../requests.ts';
import type { HandlerInput, Router, RouteSpec } from '../router.ts';
import type { Opts, Validators } from '../validators.ts';
import { threadOr404 } from './threads.ts';

/**
 * Messages: publish to a thread, and the admin calls broadcast, multicast and send — each answering `true`
 * once Kafka acknowledged the ingest record, its ingest request id in `msgxc-request-id` — and a message's
 * delivery summary (recipients per state and per channel).
 */

const yes = { 200: { description: 'Done (durable).', schema: z.literal(true) } };

/** What publish, broadcast, multicast and send have in common. */
type MessageBody = { msg: string; opts?: Opts | undefined };
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
  const limitThread = threadLimiter(deps.limits.rate, deps.clock);

  /** Hands a message request to the pipeline: `true` once Kafka acknowledged it, its id in `msgxc-request-id`. */
  const ingest = async (
    { c, principal, body, ingestRequestId }: HandlerInput<MessageBody, unknown, unknown>,
    kind: RequestKind,
    target: Target,
  ): Promise<true> => {
    const request = ingestRequest(
      kind,
      { ingestRequestId, principal, msg: body.msg, opts: body.opts, target, now: deps.clock() },
      traceOf(c),
    );
    await produceIngest(deps, request);
    c.header('msgxc-request-id', ingestRequestId);
    return true;
  };

  router.add(
    {
      method: 'post',
      path: '/api/v1/publish',
      operationId: 'publish',
      summary: "Publish a message to a thread's subscribers.",
      description: 'Allowed for the owner, thread admins, publishers, anyone on an open-publish thread, and services.',
      tags: ['seed'],
      access: 'user',
      body: v.publish,
      idempotent: true,
      responses: { ...yes, 404: { description: 'No such thread.' } },
    },
    async (input) => {
      const thread = await threadOr404(deps, input.body.tid);
      if (!mayPublish(thread, input.principal)) throw forbidden('you may not publish to this thread');
      if (!input.principal.admin && !input.principal.service) limitThread(input.principal.uid, input.body.tid);
      return ingest(input, 'publish', { tid: input.body.tid });
    },
  );

  /** broadcast, multicast and send: admin calls that differ only in whom the message goes to. */
  const adminSend = <B extends z.ZodType>(operationId: RequestKind, summary: string, body: B): RouteSpec<B> => ({
    method: 'post',
    path: `/api/v1/${operationId}`,
    operationId,
    summary,
    tags: ['seed'],
    access: 'admin',
    body,
    idempotent: true,
    responses: yes,
  });

  router.add(adminSend('broadcast', 'Send a message to every user.', v.broadcast), async (input) =>
    ingest(input, 'broadcast', {}),
  );
  router.add(adminSend('multicast', 'Send a message to a list of users.', v.multicast), async (input) =>
    ingest(input, 'multicast', { uids: input.body.uids }),
  );
  router.add(adminSend('send', 'Send a message to one user.', v.send), async (input) =>
    ingest(input, 'send', { uid: input.body.uid }),
  );

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
