import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHttp, startHttp } from '../../stages/http/index.ts';
import {
  adminToken,
  authSecret,
  consume,
  createHarness,
  dropTestData,
  type Harness,
  httpTestConfig,
  p256dh,
  receiverHost,
  token,
  webPush,
} from './support.ts';

/**
 * The validation matrix: each wrong body gets a 400 with the issues at their paths, size limits a 413,
 * a wrong media type a 415; none of them writes anything.
 */

let h: Harness;
let tid: string;
let user: string;
let admin: string;
const uuid = '6f1c1b8e-8d3f-4a55-9c0e-2f6b1d3e4a5b';
/** A time UUID, as message ids are. */
const v1 = '11111111-1111-11f0-8000-000000000001';

beforeAll(async () => {
  h = await createHarness({ MSGXC_MESSAGE_MAX_BYTES: '256', MSGXC_HTTP_BODY_LIMIT_BYTES: '4096' });
  user = await token({ sub: 'val-user' });
  admin = await adminToken();
  const response = await h.request('/api/v1/threads', {
    token: user,
    json: { name: 'Validation', openSubscribe: true },
  });
  tid = ((await response.json()) as { tid: string }).tid;
});

afterAll(async () => {
  await h?.close();
  if (h) await dropTestData(h.config);
});

type Case = [string, string, unknown, string[]];

const cases: Case[] = [
  ['publish without tid', '/api/v1/publish', { msg: 'x' }, ['tid']],
  ['publish with a tid that is not a uuid', '/api/v1/publish', { tid: 'thread-1', msg: 'x' }, ['tid']],
  ['publish with an empty msg', '/api/v1/publish', { tid: uuid, msg: '' }, ['msg']],
  ['publish with a numeric msg', '/api/v1/publish', { tid: uuid, msg: 42 }, ['msg']],
  ['publish with an unknown key', '/api/v1/publish', { tid: uuid, msg: 'x', to: 'all' }, ['']],
  ['publish with urgency 5', '/api/v1/publish', { tid: uuid, msg: 'x', opts: { urgency: 5 } }, ['opts.urgency']],
  [
    'publish with an unknown channel',
    '/api/v1/publish',
    { tid: uuid, msg: 'x', opts: { channels: ['fax'] } },
    ['opts.channels.0'],
  ],
  [
    'publish with a bad date',
    '/api/v1/publish',
    { tid: uuid, msg: 'x', opts: { scheduledAt: 'tomorrow' } },
    ['opts.scheduledAt'],
  ],
  [
    'publish with nested data',
    '/api/v1/publish',
    { tid: uuid, msg: 'x', opts: { data: { a: { b: 1 } } } },
    ['opts.data.a'],
  ],
  ['publish with opts as a string', '/api/v1/publish', { tid: uuid, msg: 'x', opts: 'urgent' }, ['opts']],
  ['publish with an array body', '/api/v1/publish', [{ tid: uuid, msg: 'x' }], ['']],
  ['subscribe with a bad tid', '/api/v1/subscribe', { tid: 'nope' }, ['tid']],
  ['unsubscribe with null', '/api/v1/unsubscribe', { tid: null }, ['tid']],
  ['broadcast without msg', '/api/v1/broadcast', { opts: {} }, ['msg']],
  ['multicast with no uids', '/api/v1/multicast', { msg: 'x', uids: [] }, ['uids']],
  ['multicast with repeated uids', '/api/v1/multicast', { msg: 'x', uids: ['a', 'a'] }, ['uids']],
  ['multicast with a blank uid', '/api/v1/multicast', { msg: 'x', uids: ['a', ' '] }, ['uids.1']],
  ['send without uid', '/api/v1/send', { msg: 'x' }, ['uid']],
  ['send with a uid object', '/api/v1/send', { msg: 'x', uid: { id: 1 } }, ['uid']],
  ['enlist an unknown os', '/api/v1/enlist', { os: 'windows', token: 'abc' }, ['']],
  ['enlist an iOS token that is not hex', '/api/v1/enlist', { os: 'ios', token: 'zz'.repeat(32) }, ['token']],
  ['enlist an Android token with spaces', '/api/v1/enlist', { os: 'android', token: 'a b c d e f g h i j' }, ['token']],
  [
    'enlist a subscription without keys',
    '/api/v1/enlist',
    { endpoint: `https://${receiverHost}/x`, expirationTime: null },
    ['keys'],
  ],
  [
    'enlist a subscription with a short p256dh',
    '/api/v1/enlist',
    { endpoint: `https://${receiverHost}/x`, keys: { p256dh: authSecret, auth: authSecret } },
    ['keys.p256dh'],
  ],
  [
    'enlist a subscription whose endpoint is not a URL',
    '/api/v1/enlist',
    { endpoint: 'push me', keys: { p256dh, auth: authSecret } },
    ['endpoint'],
  ],
  ['create a thread without a name', '/api/v1/threads', { openSubscribe: true }, ['name']],
  [
    'create a thread whose weights do not add up',
    '/api/v1/threads',
    {
      name: 'x',
      experiment: {
        id: 'e',
        variants: [
          { name: 'a', weight: 30 },
          { name: 'b', weight: 30 },
        ],
      },
    },
    ['experiment.variants'],
  ],
  ['create a thread with an upper-case alias', '/api/v1/threads', { name: 'x', alias: 'News' }, ['alias']],
  [
    'ack a message id that is not a time UUID',
    '/api/v1/ack',
    { messageId: uuid, channel: 'ws', status: 'opened' },
    ['messageId'],
  ],
  ['ack with an unknown status', '/api/v1/ack', { messageId: v1, channel: 'ws', status: 'liked' }, ['status']],
  [
    'ack on behalf of someone else',
    '/api/v1/ack',
    { messageId: v1, channel: 'ws', status: 'opened', uid: 'other' },
    [''],
  ],
  ['ack with a negative time', '/api/v1/ack', { messageId: v1, channel: 'ws', status: 'opened', at: -1 }, ['at']],
  ['read without a message id', '/api/v1/read', { tid: uuid }, ['messageId']],
  ['read with a tid that is not a uuid', '/api/v1/read', { tid: 't-1', messageId: v1 }, ['tid']],
];

describe('validation matrix', () => {
  it.each(cases)('refuses %s with 400 and the issue paths', async (_name, path, body, paths) => {
    const bearer = ['/api/v1/broadcast', '/api/v1/multicast', '/api/v1/send'].includes(path) ? admin : user;
    const response = await h.request(path, { token: bearer, json: body });
    const answer = (await response.json()) as {
      error: string;
      issues: { path: (string | number)[]; message: string }[];
    };
    expect(response.status, JSON.stringify(answer)).toBe(400);
    expect(answer.error).toBe('INVALID_REQUEST');
    expect(answer.issues.map((issue) => issue.path.join('.'))).toEqual(expect.arrayContaining(paths));
    for (const issue of answer.issues) expect(typeof issue.message).toBe('string');
  });

  it.each([
    ['not JSON', '{"tid":', 'INVALID_JSON'],
    ['an empty body', '', 'INVALID_JSON'],
    ['JSON nested 40 deep', `{"tid":${'['.repeat(40)}${']'.repeat(40)}}`, 'INVALID_JSON'],
    ['a bare string', '"publish"', 'INVALID_REQUEST'],
    ['null', 'null', 'INVALID_REQUEST'],
  ])('refuses %s with 400', async (_name, body, code) => {
    const response = await h.request('/api/v1/publish', {
      method: 'POST',
      token: user,
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: code });
  });

  it('refuses a body that is not JSON with 415', async () => {
    const response = await h.request('/api/v1/subscribe', {
      method: 'POST',
      token: user,
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ tid }),
    });
    expect(response.status).toBe(415);
  });

  it('answers 413 for a message over the message limit', async () => {
    const response = await h.request('/api/v1/send', { token: admin, json: { uid: 'u', msg: 'ü'.repeat(129) } });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', issues: [{ path: ['msg'] }] });
    const fits = await h.request('/api/v1/send', { token: admin, json: { uid: 'u', msg: 'ü'.repeat(128) } });
    expect(fits.status).toBe(200);
  });

  it('checks ids in paths', async () => {
    expect((await h.request('/api/v1/threads/not-a-uuid', { token: user })).status).toBe(400);
    // Message ids are time UUIDs: a random (v4) UUID is refused before any lookup.
    const v4 = await h.request(`/api/v1/messages/${uuid}`, { token: user });
    expect(v4.status).toBe(400);
    expect(await v4.json()).toMatchObject({ issues: [{ path: ['mid'] }] });
    expect((await h.request('/api/v1/devices/apns/xyz', { method: 'DELETE', token: user })).status).toBe(400);
    expect((await h.request(`/api/v1/threads/${uuid}`, { token: user })).status).toBe(404);
  });

  it('answers 404 for a thread that does not exist', async () => {
    const response = await h.request('/api/v1/publish', { token: user, json: { tid: uuid, msg: 'x' } });
    expect(response.status).toBe(404);
    expect((await h.request('/api/v1/nowhere', { token: user })).status).toBe(404);
  });

  it('refuses an invalid Idempotency-Key', async () => {
    const response = await h.request('/api/v1/subscribe', {
      token: user,
      json: { tid },
      headers: { 'idempotency-key': 'has spaces in it' },
    });
    expect(response.status).toBe(400);
  });

  it.each([
    ['http (not https)', `http://${receiverHost}/x`, 'endpoint must use https'],
    ['loopback', 'https://127.0.0.1/push', 'endpoint host resolves to a loopback address'],
    ['localhost by name', 'https://localhost:4444/push', 'endpoint host resolves to a loopback address'],
    ['a private address', 'https://10.1.2.3/push', 'endpoint host resolves to a private address'],
    ['link-local metadata', 'https://169.254.169.254/latest', 'endpoint host resolves to a link-local address'],
    ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/push', 'endpoint host resolves to a loopback address'],
    ['unique-local IPv6', 'https://[fd00::1]/push', 'endpoint host resolves to a unique-local address'],
    ['a decimal IPv4', 'https://2130706433/push', 'endpoint host resolves to a loopback address'],
  ])('refuses a Web Push endpoint on %s', async (_name, endpoint, reason) => {
    const response = await h.request('/api/v1/enlist', { token: user, json: webPush(endpoint) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'UNSAFE_ENDPOINT', message: reason });
  });

  it('wrote nothing for any refused request', async () => {
    const ingest = await consume(h.config, 'ingest');
    // Only the one message that fitted the limit.
    expect(ingest.map((record) => record.value.msg)).toEqual(['ü'.repeat(128)]);
    expect(await h.deps.users.devicesOf('val-user')).toEqual([]);
    expect(await consume(h.config, 'acks')).toEqual([]);
  });
});

describe('body size limit on a real socket', () => {
  let running: RunningHttp;
  beforeAll(async () => {
    running = await startHttp(httpTestConfig({ MSGXC_HTTP_BODY_LIMIT_BYTES: '4096' }), { port: 0 });
  });
  afterAll(async () => {
    await running?.close();
  });

  it('answers 413 to a declared length over the limit', async () => {
    const response = await fetch(`${running.url}/api/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tid: uuid, msg: 'x'.repeat(5000) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers 413 to a chunked body that grows over the limit', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${running.url}/api/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
  });
});
