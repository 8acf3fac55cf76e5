import { z } from 'zod';
import type { Principal } from '../../../pipeline/auth/index.ts';
import {
  completeExperiment,
  type Experiment,
  type ExperimentInput,
  mayManage,
  mayPublish,
  maySubscribe,
  type Thread,
  type ThreadFields,
} from '../../../pipeline/store/thread.ts';
import { dependency, forbidden, notFound } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { audienceChange, traceOf, writeThenEmit } from '../requests.ts';
import type { Router } from '../router.ts';
import { channelSchema, type Validators } from '../validators.ts';

/**
 * Thread management beyond the seed: the caller owns what it creates; the owner and thread admins (and
 * admin or service tokens) change it; only the owner hands out the admin role; whoever may take part in
 * a thread may read its settings.
 */

export const threadSchema = z
  .object({
    tid: z.uuid(),
    name: z.string().nullable(),
    alias: z.string().nullable(),
    owner: z.string(),
    admins: z.array(z.string()),
    publishers: z.array(z.string()),
    openSubscribe: z.boolean(),
    openPublish: z.boolean(),
    channelTypes: z.array(channelSchema),
    urgency: z.int().min(1).max(4).nullable(),
    experiment: z.unknown().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ title: 'Thread' });

const threadJson = (thread: Thread) => ({
  ...thread,
  createdAt: thread.createdAt.toISOString(),
  updatedAt: thread.updatedAt.toISOString(),
});

const experimentOf = (body: ExperimentInput | null | undefined): Experiment | null | undefined =>
  body === undefined || body === null ? body : completeExperiment(body);

const actsForSystem = (principal: Principal) => principal.admin || principal.service;

/** The thread, or a 404 when there is none. */
export async function threadOr404(deps: AppDeps, tid: string): Promise<Thread> {
  const thread = await dependency('cassandra', deps.limits.dependencyTimeoutMs, () => deps.threads.getThread(tid));
  if (thread === null) throw notFound('thread');
  return thread;
}

/** Readers of a thread: whoever may take part in it (as for `GET /threads/{tid}`), and its subscribers. */
export async function requireReader(deps: AppDeps, principal: Principal, tid: string): Promise<void> {
  const timeout = deps.limits.dependencyTimeoutMs;
  const thread = await dependency('cassandra', timeout, () => deps.threads.getThread(tid));
  const reads =
    thread !== null &&
    (maySubscribe(thread, principal) ||
      mayPublish(thread, principal) ||
      (await dependency('cassandra', timeout, () => deps.threads.isSubscribed(tid, principal.uid))));
  // Not 403: whether a private thread exists is not the caller's business.
  if (!reads) throw notFound('thread');
}

const yes = { 200: { description: 'Done (durable).', schema: z.literal(true) } };

export function addThreadRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

  router.add(
    {
      method: 'post',
      path: '/api/v1/subscribe',
      operationId: 'subscribe',
      summary: 'Subscribe the caller to a thread (owner, thread admins, or an open-subscribe thread).',
      tags: ['seed'],
      access: 'user',
      body: v.subscription,
      idempotent: true,
      responses: { ...yes, 404: { description: 'No such thread.' } },
    },
    async ({ c, principal, body, log }) => {
      const thread = await threadOr404(deps, body.tid);
      if (!maySubscribe(thread, principal)) throw forbidden('this thread does not take subscriptions from you');
      const now = deps.clock();
      await writeThenEmit<boolean>(deps, log, {
        change: audienceChange('subscribe', principal.uid, now, traceOf(c), { tid: body.tid }),
        write: () => deps.threads.subscribe(body.tid, principal.uid, new Date(now)),
        undo: async (added) => {
          if (added) await deps.threads.unsubscribe(body.tid, principal.uid);
        },
      });
      return true;
    },
  );

  router.add(
    {
      method: 'post',
      path: '/api/v1/unsubscribe',
      operationId: 'unsubscribe',
      summary: 'Unsubscribe the caller from a thread (always allowed; idempotent).',
      tags: ['seed'],
      access: 'user',
      body: v.subscription,
      idempotent: true,
      responses: { ...yes, 404: { description: 'No such thread.' } },
    },
    async ({ c, principal, body, log }) => {
      await threadOr404(deps, body.tid);
      const now = deps.clock();
      await writeThenEmit<boolean>(deps, log, {
        change: audienceChange('unsubscribe', principal.uid, now, traceOf(c), { tid: body.tid }),
        write: () => deps.threads.unsubscribe(body.tid, principal.uid),
        undo: async (was) => {
          if (was) await deps.threads.subscribe(body.tid, principal.uid);
        },
      });
      return true;
    },
  );

  router.add(
    {
      method: 'post',
      path: '/api/v1/threads',
      operationId: 'createThread',
      summary: 'Create a thread owned by the caller.',
      tags: ['threads'],
      access: 'user',
      body: v.createThread,
      idempotent: true,
      responses: {
        201: { description: 'Created.', schema: threadSchema },
        409: { description: 'The alias belongs to another thread.' },
      },
    },
    async ({ c, principal, body }) => {
      const { experiment, ...fields } = body;
      const thread = await dependency('cassandra', timeout, () =>
        deps.threads.createThread(
          { ...fields, experiment: experimentOf(experiment), owner: principal.uid },
          new Date(deps.clock()),
        ),
      );
      return c.json(threadJson(thread), 201);
    },
  );

  router.add(
    {
      method: 'get',
      path: '/api/v1/threads/:tid',
      operationId: 'getThread',
      summary: "Read a thread's settings.",
      tags: ['threads'],
      access: 'user',
      params: v.tidParam,
      responses: { 200: { description: 'The thread.', schema: threadSchema }, 404: { description: 'No such thread.' } },
    },
    async ({ principal, params }) => {
      const thread = await threadOr404(deps, params.tid);
      const takesPart =
        maySubscribe(thread, principal) ||
        mayPublish(thread, principal) ||
        (await dependency('cassandra', timeout, () => deps.threads.isSubscribed(params.tid, principal.uid)));
      // Not 403: whether a private thread exists is not the caller's business.
      if (!takesPart) throw notFound('thread');
      return threadJson(thread);
    },
  );

  router.add(
    {
      method: 'patch',
      path: '/api/v1/threads/:tid',
      operationId: 'updateThread',
      summary: "Change a thread's settings (owner, thread admins; only the owner changes admins).",
      tags: ['threads'],
      access: 'user',
      params: v.tidParam,
      body: v.updateThread,
      responses: {
        200: { description: 'The thread as it is now.', schema: threadSchema },
        404: { description: 'No such thread.' },
        409: { description: 'The alias belongs to another thread.' },
      },
    },
    async ({ principal, params, body }) => {
      const thread = await threadOr404(deps, params.tid);
      if (!(actsForSystem(principal) || mayManage(thread, principal))) {
        throw forbidden('only the owner and admins of this thread may change it');
      }
      if (body.admins !== undefined && !(actsForSystem(principal) || thread.owner === principal.uid)) {
        throw forbidden("only the thread's owner may change its admins");
      }
      const { experiment, ...fields } = body;
      const patch: ThreadFields = {
        ...fields,
        ...(experiment !== undefined && { experiment: experimentOf(experiment) }),
      };
      const updated = await dependency('cassandra', timeout, () =>
        deps.threads.updateThread(params.tid, patch, new Date(deps.clock())),
      );
      return threadJson(updated);
    },
  );
}
