import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../pipeline/auth/index.ts';
import { signDevelopmentToken } from '../../pipeline/auth/sign.ts';
import { defaultLimits, findProblem } from '../../pipeline/contract/ingest.ts';
import type { IngestRequest, IngestRequestInput, RequestKind } from '../../schemas/index.ts';
import { memoryPublisher, thread, unitApp, unitDeps } from '../../test/support/http.ts';
import { ingestRequest, type Target } from './requests.ts';
import type { Opts } from './validators.ts';

/**
 * What the API accepts, the pipeline delivers: every rule of the ingest contract prioritize applies
 * (pipeline/contract/ingest.ts) walked through the API. Each case is a request that, built into a record the
 * way the facade builds it, breaks exactly that rule (checked with prioritize's own `findProblem`); the API
 * must refuse it and put nothing on the ingest topic.
 */

const tid = '0b6f3c2a-1d4e-4f5a-8b9c-0d1e2f3a4b5c';
const now = unitDeps().clock();
const day = 86_400_000;

interface Case {
  /** The message prioritize's validator gives for the record the request would make. */
  rule: string;
  kind: RequestKind;
  body: Record<string, unknown>;
  /** The token's sub, when the rule is about the sender. */
  sub?: string;
  /** The answer and the issue path the client gets. */
  status: number;
  path?: (string | number)[];
}

const publish = (fields: Record<string, unknown>, opts?: Record<string, unknown>) => ({
  tid,
  msg: 'hello',
  ...fields,
  ...(opts && { opts }),
});

const cases: Case[] = [
  {
    rule: 'msg is not well-formed Unicode (a lone surrogate)',
    kind: 'publish',
    body: publish({ msg: 'a \ud800 b' }),
    status: 400,
    path: ['msg'],
  },
  {
    rule: 'tid contains control characters',
    kind: 'publish',
    body: publish({ tid: 'x\u0001' }),
    status: 400,
    path: ['tid'],
  },
  { rule: 'tid is empty', kind: 'publish', body: publish({ tid: ' ' }), status: 400, path: ['tid'] },
  {
    rule: 'experimentId is empty',
    kind: 'publish',
    body: publish({}, { experimentId: '  ' }),
    status: 400,
    path: ['opts', 'experimentId'],
  },
  {
    rule: 'experimentId contains control characters',
    kind: 'publish',
    body: publish({}, { experimentId: 'e\u0007' }),
    status: 400,
    path: ['opts', 'experimentId'],
  },
  { rule: 'sender.id contains control characters', kind: 'publish', body: publish({}), sub: 'bob\u0001', status: 401 },
  {
    rule: 'sender.id is longer than 256 characters',
    kind: 'publish',
    body: publish({}),
    sub: 'b'.repeat(257),
    status: 401,
  },
  { rule: 'kind publish needs tid', kind: 'publish', body: { msg: 'hello' }, status: 400, path: ['tid'] },
  { rule: 'kind send needs uid', kind: 'send', body: { msg: 'hello' }, status: 400, path: ['uid'] },
  { rule: 'uid is empty', kind: 'send', body: { msg: 'hello', uid: ' ' }, status: 400, path: ['uid'] },
  {
    rule: 'uid contains control characters',
    kind: 'send',
    body: { msg: 'hello', uid: 'u\u0002' },
    status: 400,
    path: ['uid'],
  },
  {
    rule: 'uid is longer than 256 characters',
    kind: 'send',
    body: { msg: 'hello', uid: 'u'.repeat(257) },
    status: 400,
    path: ['uid'],
  },
  {
    rule: 'kind multicast needs a non-empty uids list',
    kind: 'multicast',
    body: { msg: 'hello', uids: [] },
    status: 400,
    path: ['uids'],
  },
  {
    rule: 'uids has more than 10000 entries',
    kind: 'multicast',
    body: { msg: 'hello', uids: Array.from({ length: 10_001 }, (_, index) => String(index)) },
    status: 400,
    path: ['uids'],
  },
  {
    rule: 'uids entry contains control characters',
    kind: 'multicast',
    body: { msg: 'hello', uids: ['a', 'b\u0003'] },
    status: 400,
    path: ['uids', 1],
  },
  {
    rule: 'kind send does not take uids',
    kind: 'send',
    body: { msg: 'hello', uid: 'a', uids: ['b'] },
    status: 400,
    path: [],
  },
  {
    rule: 'kind broadcast does not take uid',
    kind: 'broadcast',
    body: { msg: 'hello', uid: 'a' },
    status: 400,
    path: [],
  },
  {
    rule: 'urgency must be 1-4, got 5',
    kind: 'publish',
    body: publish({}, { urgency: 5 }),
    status: 400,
    path: ['opts', 'urgency'],
  },
  { rule: 'a message needs msg or data', kind: 'publish', body: publish({ msg: ' \n ' }), status: 400, path: ['msg'] },
  { rule: 'msg is larger than 4096 bytes', kind: 'publish', body: publish({ msg: 'é'.repeat(2049) }), status: 413 },
  {
    rule: 'subject is larger than 256 bytes',
    kind: 'publish',
    body: publish({}, { subject: 'é'.repeat(129) }),
    status: 400,
    path: ['opts', 'subject'],
  },
  {
    rule: 'data is larger than 4096 bytes',
    kind: 'publish',
    body: publish({}, { data: { a: 'x'.repeat(3000), b: 'y'.repeat(3000) } }),
    status: 400,
    path: ['opts', 'data'],
  },
  {
    rule: 'opts is larger than 4096 bytes',
    kind: 'publish',
    body: publish({}, { icon: 'x'.repeat(5000) }),
    status: 400,
    path: ['opts'],
  },
  {
    rule: 'collapseKey is empty',
    kind: 'publish',
    body: publish({}, { collapseKey: '   ' }),
    status: 400,
    path: ['opts', 'collapseKey'],
  },
  {
    rule: 'collapseKey is larger than 64 bytes',
    kind: 'publish',
    body: publish({}, { collapseKey: 'é'.repeat(33) }),
    status: 400,
    path: ['opts', 'collapseKey'],
  },
  {
    rule: 'channels, when given, must name at least one channel',
    kind: 'publish',
    body: publish({}, { channels: [] }),
    status: 400,
    path: ['opts', 'channels'],
  },
  {
    rule: 'ttlSeconds must be positive',
    kind: 'publish',
    body: publish({}, { ttl: 0 }),
    status: 400,
    path: ['opts', 'ttl'],
  },
  {
    rule: 'ttlSeconds must be positive',
    kind: 'broadcast',
    body: { msg: 'x', opts: { ttl: 0 } },
    status: 400,
    path: ['opts', 'ttl'],
  },
  {
    rule: 'expiresAt is not after createdAt',
    kind: 'publish',
    body: publish({}, { expiresAt: now - 1000 }),
    status: 400,
    path: ['opts', 'expiresAt'],
  },
  {
    rule: 'scheduledAt is too far in the future',
    kind: 'publish',
    body: publish({}, { scheduledAt: now + 367 * day }),
    status: 400,
    path: ['opts', 'scheduledAt'],
  },
  {
    rule: 'expiresAt is not after scheduledAt',
    kind: 'publish',
    body: publish({}, { scheduledAt: now + 3_600_000, expiresAt: now + 1_800_000 }),
    status: 400,
    path: ['opts', 'expiresAt'],
  },
];

/**
 * Rules no API request can break, and why: the facade sets these fields itself. Listed so that a new rule in
 * the contract shows up here (the coverage check below fails until it is walked or listed).
 */
const unreachable = new Map<string, string>([
  ['requestId', 'the facade makes it (a UUID, or derived from the Idempotency-Key)'],
  ['cohort', 'the API has no cohort call'],
  ['split', 'the API has no split call'],
  ['variant', 'the API has no split call'],
  ['createdAt', "the server's clock"],
  ['not valid JSON', 'the facade serialises data and opts itself'],
]);

/** The record the facade would build for `body` if nothing refused it (what prioritize would receive). */
function naiveRecord(kind: RequestKind, body: Record<string, unknown>, sub: string): IngestRequest {
  const principal: Principal = { uid: sub, admin: kind !== 'publish', service: false, claims: {} };
  const target: Target = {
    ...(body.tid !== undefined && { tid: body.tid as string }),
    ...(body.uid !== undefined && { uid: body.uid as string }),
    ...(body.uids !== undefined && { uids: body.uids as string[] }),
  };
  const opts = body.opts as Opts | undefined;
  return ingestRequest(kind, { ingestRequestId: 'r-1', principal, msg: body.msg as string, opts, target, now }, null);
}

function app() {
  const ingest = memoryPublisher<IngestRequestInput>();
  const deps = unitDeps();
  const { call } = unitApp({
    ingest,
    threads: { ...deps.threads, getThread: async (id) => thread({ tid: id, owner: 'bob', openPublish: true }) },
    limits: { ...deps.limits, bodyLimitBytes: 1_000_000 },
  });
  return { call, ingest: ingest.sent };
}

const token = (sub: string, kind: RequestKind) =>
  signDevelopmentToken({
    secret: 'unit-tests-secret-that-is-long-enough-for-hs256',
    sub,
    roles: kind === 'publish' ? [] : ['admin'],
    expiresIn: '5m',
  });

describe('the ingest contract through the API', () => {
  it.each(cases.map((entry) => [entry.rule, entry] as const))(
    'refuses a request breaking "%s"',
    async (rule, entry) => {
      const sub = entry.sub ?? 'bob';
      expect(findProblem(naiveRecord(entry.kind, entry.body, sub), now)).toBe(rule);
      const { call, ingest } = app();
      const response = await fetchAs(call, entry.kind, entry.body, sub);
      expect(response.status).toBe(entry.status);
      if (entry.path !== undefined) {
        const issues = (response.body as { issues: { path: (string | number)[] }[] }).issues;
        expect(issues.map((issue) => issue.path)).toContainEqual(entry.path);
      }
      expect(ingest).toEqual([]);
    },
  );

  it('walks every rule of the validator, or says why the API cannot break it', async () => {
    const source = await readFile(new URL('../../pipeline/contract/ingest.ts', import.meta.url), 'utf8');
    // Every message the validator can give: the quoted texts (outside comments) that state a rule.
    const messages = source
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
      .flatMap((line) => [
        ...line.matchAll(/(['`])((?:(?!\1).)*?\b(?:is|must|needs|has|does not|contains)\b(?:(?!\1).)*)\1/g),
      ])
      .map((match) => match[2]!);
    expect(messages.length).toBeGreaterThan(20);
    const walked = cases.map((entry) => entry.rule);
    for (const message of messages) {
      const pattern = new RegExp(
        `^${message
          .split(/\$\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.+')}$`,
      );
      const covered =
        walked.some((rule) => pattern.test(rule)) || [...unreachable.keys()].some((field) => message.includes(field));
      expect(covered, `rule "${message}" is neither walked through the API nor listed as unreachable`).toBe(true);
    }
  });

  it('passes what it accepts to Kafka, and that record passes the contract', async () => {
    const { call, ingest } = app();
    const body = publish(
      {},
      { ttl: 60, subject: 'Hi', collapseKey: 'k', scheduledAt: now + day, expiresAt: now + 2 * day, icon: '/i.png' },
    );
    const response = await fetchAs(call, 'publish', body, 'bob');
    expect([response.status, response.body]).toEqual([200, true]);
    expect(ingest).toHaveLength(1);
    expect(findProblem(ingest[0] as IngestRequest, now, defaultLimits)).toBeUndefined();
  });
});

describe('text that is not Unicode', () => {
  it('refuses lone surrogates anywhere in a body, keys included, with the path', async () => {
    const { call, ingest } = app();
    const inData = await fetchAs(call, 'publish', publish({}, { data: { 'k\udc00': 1 } }), 'bob');
    expect(inData.status).toBe(400);
    expect((inData.body as { issues: { path: string[] }[] }).issues[0]?.path).toEqual(['opts', 'data', 'k\udc00']);
    const inOpts = await fetchAs(call, 'publish', publish({}, { icon: '\ud83d' }), 'bob');
    expect(inOpts.status).toBe(400);
    expect(ingest).toEqual([]);
  });

  it('refuses bytes that are not UTF-8 instead of replacing them', async () => {
    const ingest = memoryPublisher<IngestRequestInput>();
    const deps = unitDeps();
    const { app: hono } = unitApp({
      ingest,
      threads: { ...deps.threads, getThread: async (id) => thread({ tid: id, owner: 'bob', openPublish: true }) },
    });
    const body = Buffer.concat([
      Buffer.from(`{"tid":"${tid}","msg":"a `),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(' b"}'),
    ]);
    const response = await hono.request('/api/v1/publish', {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('bob', 'publish')}`, 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'INVALID_JSON', message: 'the body is not valid UTF-8' });
    expect(ingest.sent).toEqual([]);
  });
});

async function fetchAs(
  call: ReturnType<typeof unitApp>['call'],
  kind: RequestKind,
  body: Record<string, unknown>,
  sub: string,
): Promise<{ status: number; body: unknown }> {
  if (sub === 'bob' || kind !== 'publish') {
    return call('POST', `/api/v1/${kind}`, { as: sub, roles: kind === 'publish' ? [] : ['admin'], json: body });
  }
  // A sub the unit token helper would not make: sign it here.
  const { app: hono } = unitApp();
  const response = await hono.request(`/api/v1/${kind}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token(sub, kind)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}
