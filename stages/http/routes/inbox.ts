import { z } from 'zod';
import type { InboxMessage, InboxStore } from '../../../pipeline/store/inbox.ts';
import { compareInboxCursors } from '../../../pipeline/store/inbox.ts';
import { dependency, unavailable } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import type { Router } from '../router.ts';
import { messageIdSchema } from '../validators.ts';

/**
 * The caller's inbox: every message addressed to them, whatever its audience kind (thread, uids,
 * broadcast, send), oldest first after a cursor — what a WebSocket resume replays, over HTTP — and its
 * read state (one marker: every message up to it is read).
 */

export type InboxPort = Pick<InboxStore, 'after' | 'latest' | 'markRead' | 'readUpTo'>;

const inboxMessageSchema = z
  .object({
    id: z.string().meta({ description: 'The message id (a time UUID); the cursor to resume after.' }),
    kind: z.string().meta({ description: 'The audience kind the message was sent to (thread, uids, everyone, …).' }),
    tid: z.string().nullable(),
    subject: z.string().nullable(),
    msg: z.string().nullable(),
    data: z.unknown().meta({ description: 'The message data as JSON (the string when it was not JSON).' }),
    urgency: z.int(),
    sentAt: z.int().meta({ description: 'When the request was accepted, epoch milliseconds.' }),
    variant: z.string().nullable(),
    read: z.boolean(),
  })
  .meta({ title: 'InboxMessage' });

const inboxSchema = z
  .object({
    after: z.string().nullable().meta({ description: 'Where this page starts (exclusive); null = the newest.' }),
    messages: z.array(inboxMessageSchema).meta({ description: 'Oldest first.' }),
    next: z.string().nullable().meta({ description: 'The cursor for the next page (the last id returned).' }),
    readUpTo: z.string().nullable().meta({ description: 'Every message up to this id is read.' }),
  })
  .meta({ title: 'Inbox' });

const inboxQuery = z.strictObject({
  after: messageIdSchema.optional().meta({
    description: 'Messages after this one (the last id the client saw); the newest `limit` when absent.',
  }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const readBody = z
  .strictObject({ upTo: messageIdSchema.meta({ description: 'Every message up to and including this one is read.' }) })
  .meta({ title: 'InboxReadBody' });

export function addInboxRoutes(router: Router, deps: AppDeps): void {
  const timeout = deps.limits.dependencyTimeoutMs;
  const inboxOf = (): InboxPort => {
    if (!deps.inbox) throw unavailable('inbox');
    return deps.inbox;
  };

  router.add(
    {
      method: 'get',
      path: '/api/v1/inbox',
      operationId: 'inbox',
      summary: "The caller's inbox after a message (what a WebSocket resume replays), oldest first.",
      tags: ['inbox'],
      access: 'user',
      query: inboxQuery,
      responses: { 200: { description: 'One page of the inbox.', schema: inboxSchema } },
    },
    async ({ principal, query }) => {
      const inbox = inboxOf();
      const after = query.after ?? null;
      const [page, readUpTo] = await dependency('cassandra', timeout, () =>
        Promise.all([
          after === null ? inbox.latest(principal.uid, query.limit) : inbox.after(principal.uid, after, query.limit),
          inbox.readUpTo(principal.uid),
        ]),
      );
      return {
        after,
        messages: page.messages.map((message) => inboxMessage(message, readUpTo)),
        next: page.next,
        readUpTo,
      };
    },
  );

  router.add(
    {
      method: 'put',
      path: '/api/v1/inbox/read',
      operationId: 'inboxRead',
      summary: 'Mark the inbox read up to and including a message.',
      description: 'The marker only moves forward: an older message id (a late or repeated call) leaves it as it is.',
      tags: ['inbox'],
      access: 'user',
      body: readBody,
      responses: { 200: { description: 'Done (durable).', schema: z.literal(true) } },
    },
    async ({ principal, body }) => {
      const inbox = inboxOf();
      await dependency('cassandra', timeout, () => inbox.markRead(principal.uid, body.upTo));
      return true as const;
    },
  );
}

function inboxMessage(message: InboxMessage, readUpTo: string | null) {
  return {
    id: message.messageId,
    kind: message.kind,
    tid: message.tid,
    subject: message.subject,
    msg: message.msg,
    data: parseJson(message.data),
    urgency: message.urgency,
    sentAt: message.sentAt,
    variant: message.variant,
    read: readUpTo !== null && compareInboxCursors(message.messageId, readUpTo) <= 0,
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
