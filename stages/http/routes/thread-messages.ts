import { z } from 'zod';
import type { StoredMessage } from '../../../schemas/index.ts';
import { dependency } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import type { Router } from '../router.ts';
import type { Validators } from '../validators.ts';
import { requireReader } from './threads.ts';

/** A thread's messages: catch-up after a reconnect, for the thread's readers. */

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

export function addThreadMessageRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

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
      await requireReader(deps, principal, tid);
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
