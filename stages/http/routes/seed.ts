import { z } from 'zod';
import { mayPublish, maySubscribe, type Thread } from '../../../pipeline/store/thread.ts';
import { deviceFromEnlist, deviceId, type EnlistResult } from '../../../pipeline/store/user.ts';
import type { Device } from '../../../schemas/index.ts';
import { dependency, forbidden, notFound } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { audienceChange, ingestRequest, produceIngest, traceOf, writeThenEmit } from '../requests.ts';
import type { Router } from '../router.ts';
import { parseDevice, type Validators } from '../validators.ts';

/**
 * The API the apps already know: same paths, same bodies, each answering `true` once the request is
 * durable — Kafka acknowledged the ingest record (publish, broadcast, multicast, send) or Cassandra holds
 * the change and the audience change is on its topic (enlist, subscribe, unsubscribe).
 */

const yes = { 200: { description: 'Done (durable).', schema: z.literal(true) } };

export function addSeedRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;
  const threadOr404 = async (tid: string): Promise<Thread> => {
    const thread = await dependency('cassandra', timeout, () => deps.threads.getThread(tid));
    if (thread === null) throw notFound('thread');
    return thread;
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
      const thread = await threadOr404(body.tid);
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
      await threadOr404(body.tid);
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
    async ({ c, principal, body, requestId }) => {
      const thread = await threadOr404(body.tid);
      if (!mayPublish(thread, principal)) throw forbidden('you may not publish to this thread');
      const request = ingestRequest(
        'publish',
        { requestId, principal, msg: body.msg, opts: body.opts, target: { tid: body.tid }, now: deps.clock() },
        traceOf(c),
      );
      await produceIngest(deps, request);
      c.header('msgxc-request-id', requestId);
      return true;
    },
  );

  router.add(
    {
      method: 'post',
      path: '/api/v1/broadcast',
      operationId: 'broadcast',
      summary: 'Send a message to every user.',
      tags: ['seed'],
      access: 'admin',
      body: v.broadcast,
      idempotent: true,
      responses: yes,
    },
    async ({ c, principal, body, requestId }) => {
      const request = ingestRequest(
        'broadcast',
        { requestId, principal, msg: body.msg, opts: body.opts, target: {}, now: deps.clock() },
        traceOf(c),
      );
      await produceIngest(deps, request);
      c.header('msgxc-request-id', requestId);
      return true;
    },
  );

  router.add(
    {
      method: 'post',
      path: '/api/v1/multicast',
      operationId: 'multicast',
      summary: 'Send a message to a list of users.',
      tags: ['seed'],
      access: 'admin',
      body: v.multicast,
      idempotent: true,
      responses: yes,
    },
    async ({ c, principal, body, requestId }) => {
      const request = ingestRequest(
        'multicast',
        { requestId, principal, msg: body.msg, opts: body.opts, target: { uids: body.uids }, now: deps.clock() },
        traceOf(c),
      );
      await produceIngest(deps, request);
      c.header('msgxc-request-id', requestId);
      return true;
    },
  );

  router.add(
    {
      method: 'post',
      path: '/api/v1/send',
      operationId: 'send',
      summary: 'Send a message to one user.',
      tags: ['seed'],
      access: 'admin',
      body: v.send,
      idempotent: true,
      responses: yes,
    },
    async ({ c, principal, body, requestId }) => {
      const request = ingestRequest(
        'send',
        { requestId, principal, msg: body.msg, opts: body.opts, target: { uid: body.uid }, now: deps.clock() },
        traceOf(c),
      );
      await produceIngest(deps, request);
      c.header('msgxc-request-id', requestId);
      return true;
    },
  );
}
