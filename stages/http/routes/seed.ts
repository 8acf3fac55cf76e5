import { z } from 'zod';
import { mayPublish, maySubscribe } from '../../../pipeline/store/thread.ts';
import { deviceFromEnlist, deviceId, type EnlistResult } from '../../../pipeline/store/user.ts';
import type { Device, RequestKind } from '../../../schemas/index.ts';
import { forbidden } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { audienceChange, ingestRequest, produceIngest, type Target, traceOf, writeThenEmit } from '../requests.ts';
import type { HandlerInput, Router, RouteSpec } from '../router.ts';
import { type Opts, parseDevice, type Validators } from '../validators.ts';
import { threadOr404 } from './threads.ts';

/**
 * The API the apps already know: same paths, same bodies, each answering `true` once the request is
 * durable — Kafka acknowledged the ingest record (publish, broadcast, multicast, send) or Cassandra holds
 * the change and the audience change is on its topic (enlist, subscribe, unsubscribe).
 */

const yes = { 200: { description: 'Done (durable).', schema: z.literal(true) } };

/** What publish, broadcast, multicast and send have in common. */
type MessageBody = { msg: string; opts?: Opts | undefined };

export function addSeedRoutes(router: Router, deps: AppDeps, v: Validators): void {
  /** Hands a message request to the pipeline: `true` once Kafka acknowledged it, its id in `msgxc-request-id`. */
  const ingest = async (
    { c, principal, body, requestId }: HandlerInput<MessageBody, unknown, unknown>,
    kind: RequestKind,
    target: Target,
  ): Promise<true> => {
    const request = ingestRequest(
      kind,
      { requestId, principal, msg: body.msg, opts: body.opts, target, now: deps.clock() },
      traceOf(c),
    );
    await produceIngest(deps, request);
    c.header('msgxc-request-id', requestId);
    return true;
  };

  router.add(
    {
      method: 'post',
      path: '/api/v1/enlist',
      operationId: 'enlist',
      summary: 'Enlist a device: an iOS token, an Android token or a Web Push subscription.',
      description:
        'Re-enlisting the same token is idempotent and moves it first. Web Push endpoints must be https and public.',
      tags: ['seed'],
      access: 'user',
      body: v.enlist,
      parseBody: (value) => parseDevice(v, value),
      idempotent: true,
      responses: yes,
    },
    async ({ c, principal, body, log }) => {
      if ('endpoint' in body) await deps.endpointGuard.check(body.endpoint);
      const input = deviceFromEnlist(body);
      const device: Device = {
        channel: input.channel,
        id: deviceId(input),
        token: 'token' in input ? input.token : null,
        subscription: 'subscription' in input ? input.subscription : null,
        address: null,
        platform: input.platform ?? null,
      };
      const now = deps.clock();
      const trace = traceOf(c);
      await writeThenEmit<EnlistResult>(deps, log, {
        change: audienceChange('enlist_device', principal.uid, now, trace, { device }),
        write: () => deps.users.enlistDevice(principal.uid, input, new Date(now)),
        // The token moved from another user: their index entry loses it.
        more: (result) =>
          result.previousOwner === null
            ? []
            : [audienceChange('remove_device', result.previousOwner, now, trace, { device })],
        undo: async (result) => {
          if (result.previousOwner !== null) await deps.users.enlistDevice(result.previousOwner, input);
          else if (result.created) await deps.users.removeDevice(principal.uid, input.channel, device.id);
        },
      });
      return true;
    },
  );

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
}
