import { Hono } from 'hono';
import { z } from 'zod';
import { bearerToken, type Principal } from '../../pipeline/auth/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { type Acknowledgement, ChannelSymbols } from '../../schemas/types.generated.ts';
import type { FlowRouteDeps, ThreadAccess } from './ports.ts';

export type { CatchUpMessage, FlowRouteDeps, ThreadAccess } from './ports.ts';

/**
 * The routes of the delivery flow that clients call: acknowledgements, read markers and catch-up after a
 * reconnect (a message's delivery summary is the facade's `GET /api/v1/messages/:mid`). A Hono sub-app the facade mounts (`app.route('/', …)`).
 * Every route needs a bearer token; the acting user always comes from the token, never from the body.
 * Errors answer `{ error, message, issues? }` like the rest of the facade.
 */

const id = z.string().min(1).max(128);
/** Message ids are time UUIDs (version 1): they order a thread's messages. */
const messageId = z.uuid({ version: 'v1', message: 'a message id is a version-1 (time) UUID' });

const ackBody = z.strictObject({
  messageId,
  channel: z.enum(ChannelSymbols),
  status: z.enum(['delivered', 'opened', 'clicked', 'dismissed']),
  tid: id.optional(),
  deliveryId: z.string().min(1).max(512).optional(),
  deviceId: id.optional(),
  /** For clicked: the action or URL chosen. */
  action: z.string().max(2048).optional(),
  /** When it happened on the client, epoch milliseconds; the server's receive time when absent. */
  at: z.number().int().nonnegative().optional(),
});

const readBody = z.strictObject({ tid: id, messageId });

const catchUpQuery = z.object({
  after: messageId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export function createFlowRoutes(deps: FlowRouteDeps): Hono {
  const app = new Hono();

  app.onError((error, c) => {
    const known = error instanceof MsgxcError ? error : undefined;
    const status = known?.status ?? 500;
    if (status >= 500) deps.log.error({ err: error, code: known?.code }, 'flow route failed');
    if (status === 503) c.header('Retry-After', '5');
    const issues = known?.details?.issues;
    return c.json(
      {
        error: known?.code ?? 'INTERNAL',
        message: status >= 500 && status !== 503 ? 'internal error' : (known?.message ?? 'internal error'),
        ...(Array.isArray(issues) ? { issues } : {}),
      },
      status as 400,
    );
  });

  const principalOf = (header: string | undefined) => deps.verifier.verify(bearerToken(header));
  const call = <T>(name: string, run: () => Promise<T>) => withDeadline(name, deps.dependencyTimeoutMs, run);

  const requireRead = async (principal: Principal, tid: string): Promise<ThreadAccess> => {
    const access = await call('cassandra', () => deps.threadAccess(principal, tid));
    if (access === 'missing') throw new MsgxcError('NOT_FOUND', `thread ${tid} not found`, { status: 404 });
    if (access === 'forbidden') throw new MsgxcError('FORBIDDEN', `not allowed to read thread ${tid}`, { status: 403 });
    return access;
  };

  app.post('/api/v1/ack', async (c) => {
    const principal = await principalOf(c.req.header('authorization'));
    const body = parse(ackBody, await json(c.req.raw));
    const receivedAt = deps.clock();
    const ack: Acknowledgement = {
      // One id per user, message, channel and kind: a client retrying the call is recorded once.
      ackId: `http:${principal.uid}:${body.messageId}:${body.channel}:${body.status}`,
      type: body.status,
      messageId: body.messageId,
      uid: principal.uid,
      tid: body.tid ?? null,
      channel: body.channel,
      deliveryId: body.deliveryId ?? null,
      deviceId: body.deviceId ?? null,
      sessionId: null,
      action: body.action ?? null,
      at: body.at ?? receivedAt,
      receivedAt,
      source: 'http',
      trace: null,
    };
    await call('kafka', () => deps.sendAcks([ack]));
    return c.json(true);
  });

  app.post('/api/v1/read', async (c) => {
    const principal = await principalOf(c.req.header('authorization'));
    const body = parse(readBody, await json(c.req.raw));
    await requireRead(principal, body.tid);
    const at = deps.clock();
    await call('cassandra', () => deps.readMarkers.set(principal.uid, body.tid, body.messageId, at));
    const read: Acknowledgement = {
      ackId: `http:${principal.uid}:${body.messageId}:read`,
      type: 'read',
      messageId: body.messageId,
      uid: principal.uid,
      tid: body.tid,
      channel: null,
      deliveryId: null,
      deviceId: null,
      sessionId: null,
      action: null,
      at,
      receivedAt: at,
      source: 'http',
      trace: null,
    };
    // The marker is written already; the ack makes the `read` event the reports count.
    await call('kafka', () => deps.sendAcks([read]));
    return c.json(true);
  });

  app.get('/api/v1/threads/:tid/messages', async (c) => {
    const principal = await principalOf(c.req.header('authorization'));
    const tid = parse(id, c.req.param('tid'), ['tid']);
    const query = parse(catchUpQuery, c.req.query());
    await requireRead(principal, tid);
    // Without `after`, catch-up starts at the caller's read marker (the newest messages when there is none).
    const after = query.after ?? (await call('cassandra', () => deps.readMarkers.get(principal.uid, tid)));
    // One more than asked tells whether the limit cut messages off: newer ones after a marker (ask again
    // with the last id), older ones when there is no marker (the newest `limit` are returned).
    const messages = await call('cassandra', () => deps.messages.after(tid, after, query.limit + 1));
    const more = messages.length > query.limit;
    const page = !more ? messages : after === null ? messages.slice(1) : messages.slice(0, query.limit);
    return c.json({ tid, after, messages: page, more });
  });

  return app;
}

function parse<T extends z.ZodType>(schema: T, value: unknown, prefix: (string | number)[] = []): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new MsgxcError('INVALID_REQUEST', 'the request does not match the schema', {
    status: 400,
    details: {
      issues: result.error.issues.map((issue) => ({
        path: [...prefix, ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part))],
        message: issue.message,
      })),
    },
  });
}

async function json(request: Request): Promise<unknown> {
  const text = await request.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new MsgxcError('INVALID_JSON', 'the body is not valid JSON', {
      status: 400,
      details: { issues: [{ path: [], message: 'the body is not valid JSON' }] },
    });
  }
}

/** A dependency that fails or does not answer in time is a 503 the client may retry. */
async function withDeadline<T>(name: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([run(), deadline]);
  } catch (error) {
    // Input was validated before the call, so a permanent failure below is a bug, not the client's fault.
    if (error instanceof MsgxcError && !error.retriable) {
      throw new MsgxcError('INTERNAL', `${name} refused a request the facade built`, { status: 500, cause: error });
    }
    throw new MsgxcError('SERVICE_UNAVAILABLE', `${name} is unavailable, try again later`, {
      status: 503,
      retriable: true,
      cause: error,
      details: { dependency: name },
    });
  } finally {
    clearTimeout(timer);
  }
}
