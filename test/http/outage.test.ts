import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTcpProxy, type TcpProxy } from '../../bench/harness/proxy.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import {
  adminToken,
  consume,
  createHarness,
  dropTestData,
  type Harness,
  harnessOver,
  iosToken,
  token,
} from './support.ts';

/**
 * Outages without touching the shared servers: a second facade reaches Cassandra or the registry through
 * a TCP proxy this test stops and starts, or is given a Kafka address where nothing listens. While a
 * dependency is away the facade answers 503 with Retry-After and leaves nothing half-written; when it is
 * back the same facade serves again.
 */

let primary: Harness;
let tid: string;
/** A thread the proxied facades have never read, so no cache can answer for Cassandra. */
let unseenTid: string;
/** Another one, for the connection cut under a request. */
let cutTid: string;
const owner = 'outage-owner';

beforeAll(async () => {
  primary = await createHarness();
  const response = await primary.request('/api/v1/threads', {
    token: await token({ sub: owner }),
    json: { name: 'Outage', openSubscribe: true, openPublish: true },
  });
  tid = ((await response.json()) as { tid: string }).tid;
  const unseen = await primary.request('/api/v1/threads', {
    token: await token({ sub: owner }),
    json: { name: 'Unseen', openSubscribe: true, openPublish: true },
  });
  unseenTid = ((await unseen.json()) as { tid: string }).tid;
  const cut = await primary.request('/api/v1/threads', { token: await token({ sub: owner }), json: { name: 'Cut' } });
  cutTid = ((await cut.json()) as { tid: string }).tid;
});

afterAll(async () => {
  await primary?.close();
  if (primary) await dropTestData(primary.config);
});

/** The primary's keyspace and topics, with some dependencies pointed elsewhere. */
function variant(env: Record<string, string>): Config {
  return parseConfig({
    ...process.env,
    MSGXC_CASSANDRA_KEYSPACE: primary.config.cassandra.keyspace,
    MSGXC_TOPIC_PREFIX: primary.config.kafka.topicPrefix,
    MSGXC_JWT_SECRET: primary.config.auth.secret,
    MSGXC_LOG_LEVEL: 'silent',
    ...env,
  });
}

const registryTarget = () => {
  const url = new URL(primary.config.registry.url);
  return { host: url.hostname, port: Number(url.port), path: url.pathname };
};
const cassandraTarget = () => {
  const [host, port] = primary.config.cassandra.contactPoints[0]!.split(':');
  return { host: host!, port: Number(port ?? 9042) };
};

async function expect503(response: Response): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(body.error).toBe('SERVICE_UNAVAILABLE');
  return body;
}

/** Retries `call` until it answers `status` (a recovering driver reconnects on its own schedule). */
async function eventually(call: () => Promise<Response>, status: number, timeoutMs = 90_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await call();
    if (response.status === status || Date.now() > deadline) return response;
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const ingestMessages = async (config: Config) => (await consume(config, 'ingest')).map((record) => record.value.msg);

describe('Cassandra unreachable', () => {
  let proxy: TcpProxy;
  let facade: Harness;

  beforeAll(async () => {
    const target = cassandraTarget();
    proxy = await createTcpProxy(target);
    facade = harnessOver(variant({ MSGXC_CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}` }));
  });
  afterAll(async () => {
    await facade?.close();
    await proxy?.stop();
  });

  it('serves through the proxy, answers 503 while it is down, and recovers', async () => {
    const user = await token({ sub: 'cass-user' });
    const publish = (msg: string, thread = tid) =>
      facade.request('/api/v1/publish', { token: user, json: { tid: thread, msg } });
    expect((await publish('before the outage')).status).toBe(200);

    await proxy.stop();
    const failed = await expect503(await publish('during the outage', unseenTid));
    expect(failed.message).toBe('cassandra is unavailable, try again later');
    await expect503(await facade.request('/api/v1/subscribe', { token: user, json: { tid: unseenTid } }));
    await expect503(await facade.request('/api/v1/enlist', { token: user, json: { os: 'ios', token: iosToken() } }));
    await expect503(await facade.request(`/api/v1/threads/${unseenTid}/messages`, { token: user }));
    const read = { tid: unseenTid, messageId: '11111111-1111-11f0-8000-000000000001' };
    await expect503(await facade.request('/api/v1/read', { token: user, json: read }));
    await expect503(await facade.request('/api/v1/scheduled/some-request', { method: 'DELETE', token: user }));
    const ready = await facade.request('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBeTruthy();
    expect(((await ready.json()) as { checks: Record<string, string> }).checks).toMatchObject({
      kafka: 'ok',
      registry: 'ok',
      cassandra: expect.stringMatching(/^unavailable/),
    });
    expect((await facade.request('/healthz')).status).toBe(200);

    await proxy.start();
    const recovered = await eventually(() => publish('after the outage', unseenTid), 200);
    expect(recovered.status).toBe(200);
    expect((await facade.request('/api/v1/subscribe', { token: user, json: { tid } })).status).toBe(200);
    expect((await eventually(() => facade.request('/readyz'), 200)).status).toBe(200);

    const messages = await ingestMessages(primary.config);
    expect(messages).toContain('before the outage');
    expect(messages).toContain('after the outage');
    expect(messages).not.toContain('during the outage');
    // The enlist that failed left no device behind.
    expect(await primary.deps.users.devicesOf('cass-user')).toEqual([]);
  });

  it('answers 503, not 500, when the connection drops under a request ("Socket was closed")', async () => {
    const user = await token({ sub: owner });
    const catchUp = () => facade.request(`/api/v1/threads/${cutTid}/messages`, { token: user });
    expect((await eventually(catchUp, 200)).status).toBe(200);
    // Hold back the request that carries this thread's id (a bound value of the read-marker query; the
    // thread itself comes from the facade's cache), then cut the connection under it.
    const held = proxy.stall((chunk) => chunk.includes(cutTid));
    const pending = catchUp();
    await held;
    proxy.cut();
    const failed = await expect503(await pending);
    expect(failed.message).toBe('cassandra is unavailable, try again later');
    expect((await eventually(catchUp, 200)).status).toBe(200);
  });
});

describe('schema registry unreachable', () => {
  let proxy: TcpProxy;
  let facade: Harness;

  beforeAll(async () => {
    const target = registryTarget();
    proxy = await createTcpProxy(target);
    await proxy.stop();
    // A fresh facade: its serde has no schema ids cached, so it needs the registry for its first record.
    facade = harnessOver(variant({ MSGXC_SCHEMA_REGISTRY_URL: `http://127.0.0.1:${proxy.port}${target.path}` }));
  });
  afterAll(async () => {
    await facade?.close();
    await proxy?.stop();
  });

  it('answers 503 before writing anything, and recovers', async () => {
    const user = await token({ sub: 'reg-user' });
    const admin = await adminToken();
    await expect503(await facade.request('/api/v1/send', { token: admin, json: { msg: 'registry down', uid: 'x' } }));
    await expect503(await facade.request('/api/v1/subscribe', { token: user, json: { tid } }));
    await expect503(await facade.request('/api/v1/enlist', { token: user, json: { os: 'ios', token: iosToken() } }));
    const ack = { messageId: '11111111-1111-11f0-8000-000000000001', channel: 'ws', status: 'delivered' };
    await expect503(await facade.request('/api/v1/ack', { token: user, json: ack }));
    // Encoding comes before the Cassandra write, so nothing was written.
    expect(await primary.deps.threads.isSubscribed(tid, 'reg-user')).toBe(false);
    expect(await primary.deps.users.devicesOf('reg-user')).toEqual([]);
    const ready = await facade.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.registry).toMatch(/^unavailable/);

    await proxy.start();
    const sent = await eventually(
      () => facade.request('/api/v1/send', { token: admin, json: { msg: 'registry back', uid: 'x' } }),
      200,
    );
    expect(sent.status).toBe(200);
    expect((await facade.request('/api/v1/subscribe', { token: user, json: { tid } })).status).toBe(200);
    expect(await primary.deps.threads.isSubscribed(tid, 'reg-user')).toBe(true);
    expect((await facade.request('/readyz')).status).toBe(200);
    const messages = await ingestMessages(primary.config);
    expect(messages).toContain('registry back');
    expect(messages).not.toContain('registry down');
  });
});

describe('Kafka unreachable', () => {
  let facade: Harness;

  beforeAll(async () => {
    // Nothing listens on port 1; the registry and Cassandra are the real ones.
    facade = harnessOver(variant({ MSGXC_KAFKA_BROKERS: '127.0.0.1:1' }));
  });
  afterAll(async () => {
    await facade?.close();
  });

  it('answers 503 and undoes the Cassandra write the audience change belonged to', async () => {
    const user = await token({ sub: 'kafka-user' });
    await expect503(await facade.request('/api/v1/publish', { token: user, json: { tid, msg: 'kafka down' } }));
    await expect503(await facade.request('/api/v1/subscribe', { token: user, json: { tid } }));
    expect(await primary.deps.threads.isSubscribed(tid, 'kafka-user')).toBe(false);
    await expect503(await facade.request('/api/v1/enlist', { token: user, json: { os: 'ios', token: iosToken() } }));
    expect(await primary.deps.users.devicesOf('kafka-user')).toEqual([]);
    const ack = { messageId: '11111111-1111-11f0-8000-000000000001', channel: 'ws', status: 'delivered' };
    await expect503(await facade.request('/api/v1/ack', { token: user, json: ack }));

    // An unsubscribe that cannot be announced leaves the subscription as it was.
    expect((await primary.request('/api/v1/subscribe', { token: user, json: { tid } })).status).toBe(200);
    await expect503(await facade.request('/api/v1/unsubscribe', { token: user, json: { tid } }));
    expect(await primary.deps.threads.isSubscribed(tid, 'kafka-user')).toBe(true);

    const ready = await facade.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.kafka).toMatch(/^unavailable/);
    expect(await ingestMessages(primary.config)).not.toContain('kafka down');
  });
});
