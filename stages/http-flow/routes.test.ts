import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createVerifier } from '../../pipeline/auth/index.ts';
import { parseConfig } from '../../pipeline/config/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import type { Acknowledgement } from '../../schemas/types.generated.ts';
import { type CatchUpMessage, createFlowRoutes, type FlowRouteDeps } from './index.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const config = parseConfig({ MSGXC_JWT_SECRET: secret, MSGXC_LOG_LEVEL: 'silent' });
const token = (uid: string, roles: string[] = []) =>
  new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uid)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

const m1 = '11111111-1111-11f0-8000-000000000001';
const m2 = '22222222-1111-11f0-8000-000000000002';

function harness() {
  const sent: Acknowledgement[] = [];
  const markers = new Map<string, string>();
  const stored: CatchUpMessage[] = [m1, m2].map((id, index) => ({
    id,
    tid: 't-1',
    subject: null,
    msg: `message ${index}`,
    data: null,
    urgency: 3,
    sender: { kind: 'user', id: 'alice' },
    sentAt: index,
  }));
  const deps: FlowRouteDeps = {
    verifier: createVerifier(config),
    log: createLogger(config, 'test'),
    clock: () => 42,
    dependencyTimeoutMs: 1_000,
    sendAcks: async (acks) => {
      sent.push(...acks);
    },
    threadAccess: async (principal, tid) =>
      tid !== 't-1' ? 'missing' : principal.uid === 'mallory' ? 'forbidden' : 'read',
    readMarkers: {
      set: async (uid, tid, messageId) => {
        markers.set(`${uid}|${tid}`, messageId);
      },
      get: async (uid, tid) => markers.get(`${uid}|${tid}`) ?? null,
    },
    messages: {
      after: async (_tid, after, limit) => {
        const from =
          after === null ? Math.max(0, stored.length - limit) : stored.findIndex((message) => message.id === after) + 1;
        return stored.slice(from, from + limit);
      },
    },
  };
  return { app: createFlowRoutes(deps), sent, markers };
}

const post = async (app: ReturnType<typeof harness>['app'], path: string, body: unknown, uid = 'bob') =>
  app.request(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token(uid)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('flow routes', () => {
  it('turns POST /api/v1/ack into an acknowledgement for the token user', async () => {
    const { app, sent } = harness();
    const response = await post(app, '/api/v1/ack', { messageId: m1, channel: 'fcm', status: 'opened' });
    expect(response.status).toBe(200);
    expect(await response.json()).toBe(true);
    expect(sent.map((ack) => [ack.ackId, ack.type, ack.uid, ack.channel, ack.source])).toEqual([
      [`http:bob:${m1}:fcm:opened`, 'opened', 'bob', 'fcm', 'http'],
    ]);
  });

  it('answers 400 with the issues for an invalid body, and 401 without a token', async () => {
    const { app } = harness();
    const invalid = await post(app, '/api/v1/ack', {
      messageId: 'nope',
      channel: 'pigeon',
      status: 'opened',
      uid: 'x',
    });
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { error: string; issues: { path: string[] }[] };
    expect(body.error).toBe('INVALID_REQUEST');
    expect(body.issues.map((issue) => issue.path.join('.')).sort()).toEqual(['', 'channel', 'messageId']);
    const anonymous = await app.request('/api/v1/ack', { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
  });

  it('sets a read marker only on a readable thread', async () => {
    const { app, markers, sent } = harness();
    expect((await post(app, '/api/v1/read', { tid: 't-1', messageId: m1 })).status).toBe(200);
    expect(markers.get('bob|t-1')).toBe(m1);
    expect(sent.map((ack) => ack.type)).toEqual(['read']);
    expect((await post(app, '/api/v1/read', { tid: 't-1', messageId: m1 }, 'mallory')).status).toBe(403);
    expect((await post(app, '/api/v1/read', { tid: 't-9', messageId: m1 })).status).toBe(404);
  });

  it('serves catch-up after a message, after the read marker by default, and refuses other readers', async () => {
    const { app } = harness();
    const get = async (path: string, uid = 'bob') =>
      app.request(path, { headers: { authorization: `Bearer ${await token(uid)}` } });
    const after = await get(`/api/v1/threads/t-1/messages?after=${m1}`);
    expect(((await after.json()) as { messages: CatchUpMessage[] }).messages.map((message) => message.id)).toEqual([
      m2,
    ]);
    const all = (await (await get('/api/v1/threads/t-1/messages?limit=1')).json()) as {
      messages: CatchUpMessage[];
      more: boolean;
    };
    expect([all.messages.map((message) => message.id), all.more]).toEqual([[m2], true]);
    await post(app, '/api/v1/read', { tid: 't-1', messageId: m2 });
    const caughtUp = (await (await get('/api/v1/threads/t-1/messages')).json()) as {
      messages: CatchUpMessage[];
      after: string;
    };
    expect([caughtUp.after, caughtUp.messages]).toEqual([m2, []]);
    expect((await get('/api/v1/threads/t-1/messages', 'mallory')).status).toBe(403);
    expect((await get('/api/v1/threads/t-1/messages?limit=0')).status).toBe(400);
  });
});
