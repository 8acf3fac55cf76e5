import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createEndpointGuard } from '../../pipeline/net/ssrf.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { fuzzCase, seeded } from './fuzz-bodies.ts';
import {
  adminToken,
  androidToken,
  consume,
  createHarness,
  dropTestData,
  type Harness,
  receiverHost,
  token,
  webPush,
} from './support.ts';

/**
 * At least 2,000 random or malformed bodies per POST endpoint through the whole app on the real servers:
 * none may get a 5xx, and afterwards the facade still does its job and every record it wrote decodes.
 * DNS is a fixed table here (the guard's own resolution is covered by its unit tests), so a mutated
 * hostname never waits on the network.
 */

const perEndpoint = 2000;
/** A time UUID, as message ids are. */
const messageId = '11111111-1111-11f0-8000-000000000001';
const seed = Number(process.env.MSGXC_FUZZ_SEED ?? Date.now() % 1_000_000);

let h: Harness;
let tid: string;
let user: string;
let admin: string;

beforeAll(async () => {
  h = await createHarness(
    {},
    {
      endpointGuard: createEndpointGuard({
        allowedHosts: [receiverHost],
        resolve: async (host) => {
          if (host.endsWith('.invalid')) throw Object.assign(new Error('no such host'), { code: 'ENOTFOUND' });
          return host.startsWith('inside') ? ['10.0.0.8'] : ['93.184.215.14'];
        },
      }),
    },
  );
  user = await token({ sub: 'fuzz-user' });
  admin = await adminToken('fuzz-admin');
  const response = await h.request('/api/v1/threads', {
    token: user,
    json: { name: 'Fuzz', openSubscribe: true, openPublish: true },
  });
  tid = ((await response.json()) as { tid: string }).tid;
  // Only a message delivered to the caller may be acknowledged: the valid ack body's message was.
  const cassandra = createCassandra(h.config);
  try {
    const sent = { messageId, uid: 'fuzz-user', channel: 'fcm' as const, state: 'sent', at: Date.now() };
    await createMessageStore(cassandra).recordDelivery(sent);
  } finally {
    await cassandra.shutdown();
  }
});

afterAll(async () => {
  await h?.close();
  if (h) await dropTestData(h.config);
});

/** Method, path, who calls, and a valid body (built when the test runs, once the thread exists). */
const endpoints: [string, string, 'user' | 'admin', () => unknown][] = [
  ['POST', '/api/v1/enlist', 'user', () => ({ os: 'android', token: androidToken() })],
  ['POST', '/api/v1/enlist', 'user', () => webPush()],
  ['POST', '/api/v1/publish', 'user', () => ({ tid, msg: 'fuzz', opts: { urgency: 3, data: { a: 1 } } })],
  ['POST', '/api/v1/subscribe', 'user', () => ({ tid })],
  ['POST', '/api/v1/unsubscribe', 'user', () => ({ tid })],
  ['POST', '/api/v1/broadcast', 'admin', () => ({ msg: 'fuzz', opts: { channels: ['ws'] } })],
  ['POST', '/api/v1/multicast', 'admin', () => ({ msg: 'fuzz', uids: ['a', 'b'] })],
  ['POST', '/api/v1/send', 'admin', () => ({ msg: 'fuzz', uid: 'a', opts: { ttl: 60 } })],
  [
    'POST',
    '/api/v1/threads',
    'user',
    () => ({ name: 'n', channelTypes: ['ws'], experiment: { id: 'e', variants: [{ name: 'a', weight: 100 }] } }),
  ],
  ['PUT', '/api/v1/preferences', 'user', () => ({ tid, channels: ['ws', 'email'] })],
  ['POST', '/api/v1/ack', 'user', () => ({ messageId, channel: 'fcm', status: 'opened', at: Date.now() })],
  ['POST', '/api/v1/read', 'user', () => ({ tid, messageId })],
];

describe(`fuzzing every POST endpoint (seed ${seed})`, () => {
  it.each(
    endpoints.map(
      ([method, path, caller, valid], index) =>
        [`${method} ${path} #${index}`, method, path, caller, valid, index] as const,
    ),
  )('%s: no 5xx in 2,000 hostile bodies', async (_name, method, path, caller, makeValid, index) => {
    const random = seeded(seed + index * 7919);
    const valid = makeValid();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const authorization = `Bearer ${caller === 'admin' ? admin : user}`;
    for (let round = 0; round < perEndpoint; round++) {
      const { body, contentType } = fuzzCase(random, valid);
      const headers: Record<string, string> = { authorization };
      if (contentType !== null) headers['content-type'] = contentType;
      if (random() < 0.05) headers['idempotency-key'] = `fuzz-${Math.floor(random() * 50)}`;
      const response = await h.app.request(path, { method, headers, body });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const text = await response.text();
      if (response.status >= 500) failures.push(`${response.status} ${text} <- ${body.slice(0, 300)}`);
      else expect(() => JSON.parse(text)).not.toThrow();
    }
    expect(failures, `seed ${seed}`).toEqual([]);
    // The run exercised more than the parser: some bodies were refused by validation, some accepted.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect([...statuses.keys()].some((status) => status >= 200 && status < 300)).toBe(true);
  });

  it('leaves the system working', async () => {
    expect((await h.request('/readyz')).status).toBe(200);
    const publish = await h.request('/api/v1/publish', { token: user, json: { tid, msg: 'after the storm' } });
    expect(publish.status).toBe(200);
    const requestId = publish.headers.get('msgxc-request-id');
    // Every record the fuzzing got through decodes with its schema, and the last one is there.
    const records = await consume(h.config, 'ingest');
    expect(records.some((record) => record.value.requestId === requestId)).toBe(true);
    const changes = await consume(h.config, 'audience');
    expect(changes.length).toBeGreaterThan(0);
    const acks = await consume(h.config, 'acks');
    expect(acks.some((record) => record.value.type === 'read' && record.value.uid === 'fuzz-user')).toBe(true);
    const thread = await h.request(`/api/v1/threads/${tid}`, { token: user });
    expect(thread.status).toBe(200);
    expect(await thread.json()).toMatchObject({ tid, name: 'Fuzz', owner: 'fuzz-user' });
    const devices = await h.request('/api/v1/devices', { token: user });
    expect(devices.status).toBe(200);
  });
});
