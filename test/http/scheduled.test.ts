import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { type RunningStages, runStages } from '../../pipeline/runtime/index.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import { laneTopics } from '../../pipeline/topics/lanes.ts';
import { stage as prioritize } from '../../stages/prioritize/index.ts';
import { createScheduler, type Scheduler } from '../../stages/scheduler/index.ts';
import { adminToken, consume, createHarness, dropTestData, type Harness, token } from './support.ts';

/**
 * `DELETE /api/v1/scheduled/{requestId}` end to end: a publish with `opts.scheduledAt` goes through the real
 * prioritize stage (run in this process), which holds it in the Cassandra schedule; the facade then cancels
 * it through the scheduler's canceller. A scheduler pass shows that a request already sent is too late.
 */

let h: Harness;
let running: RunningStages | undefined;
let scheduler: Scheduler | undefined;
let cassandra: ReturnType<typeof createCassandra>;
let tid: string;
let alice: string;

beforeAll(async () => {
  h = await createHarness(
    {
      MSGXC_RUNTIME_SESSION_TIMEOUT_MS: '10000',
      MSGXC_RUNTIME_HEARTBEAT_MS: '1000',
      MSGXC_RUNTIME_MAX_WAIT_MS: '250',
    },
    {},
    [...laneTopics, 'prioritize.sightings', 'prioritize.retry', 'prioritize.dlq'],
  );
  const log = createLogger(h.config, 'scheduled-test');
  running = await runStages(h.config, [prioritize], { log, registry: new Registry() });
  scheduler = createScheduler(h.config, { log, registry: new Registry(), owner: 'http-scheduled-test' });
  cassandra = createCassandra(h.config);
  alice = await token({ sub: 'alice' });
  const created = await h.request('/api/v1/threads', { token: alice, json: { name: 'Later' } });
  expect(created.status).toBe(201);
  tid = ((await created.json()) as { tid: string }).tid;
});

afterAll(async () => {
  await running?.stop('test over');
  await scheduler?.close();
  await cassandra?.shutdown();
  await h?.close();
  if (h) await dropTestData(h.config);
});

async function publishLater(msg: string, scheduledAt: number): Promise<string> {
  const response = await h.request('/api/v1/publish', { token: alice, json: { tid, msg, opts: { scheduledAt } } });
  expect(response.status).toBe(200);
  return response.headers.get('msgxc-request-id') as string;
}

const cancel = async (requestId: string, bearer: string | null) => {
  const response = await h.request(`/api/v1/scheduled/${encodeURIComponent(requestId)}`, {
    method: 'DELETE',
    token: bearer,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const eventsOf = async (predicate: (types: string[]) => boolean) =>
  (
    await consume(h.config, 'events', (records) =>
      predicate(records.map((record) => `${record.value.type}:${record.value.requestId}`)),
    )
  ).map((record) => `${record.value.type}:${record.value.requestId}`);

describe('cancelling a scheduled publish', () => {
  it('lets the sender or an admin cancel a held request, refuses a stranger, and knows no unknown id', async () => {
    const tomorrow = Date.now() + 86_400_000;
    const mine = await publishLater('cancelled by its sender', tomorrow);
    const theirs = await publishLater('cancelled by an admin', tomorrow);
    // prioritize held both (it reports that on `events`) instead of routing them to a lane.
    await eventsOf((types) => types.includes(`scheduled:${mine}`) && types.includes(`scheduled:${theirs}`));
    const schedule = createScheduleStore(cassandra);
    expect((await schedule.getScheduled(mine))?.state).toBe('pending');

    const stranger = await cancel(mine, await token({ sub: 'mallory' }));
    expect([stranger.status, stranger.body.error]).toEqual([403, 'FORBIDDEN']);
    const unknown = await cancel('no-such-request', alice);
    expect([unknown.status, unknown.body.error]).toEqual([404, 'SCHEDULED_NOT_FOUND']);
    expect((await cancel(mine, null)).status).toBe(401);
    expect((await schedule.getScheduled(mine))?.state).toBe('pending');

    const cancelled = await cancel(mine, alice);
    expect([cancelled.status, cancelled.body]).toEqual([200, { requestId: mine, state: 'cancelled', changed: true }]);
    expect((await cancel(mine, alice)).body).toEqual({ requestId: mine, state: 'cancelled', changed: false });
    expect((await cancel(theirs, await adminToken())).status).toBe(200);
    expect((await schedule.getScheduled(mine))?.state).toBe('cancelled');
    expect((await schedule.getScheduled(theirs))?.state).toBe('cancelled');

    // Each cancel left one `cancelled` event; the repeat added none.
    const types = await eventsOf((seen) => seen.includes(`cancelled:${mine}`) && seen.includes(`cancelled:${theirs}`));
    expect(types.filter((type) => type === `cancelled:${mine}`)).toHaveLength(1);
  });

  it('answers 409 once the scheduler has sent the request', async () => {
    const dueAt = Date.now() + 4_000;
    const soon = await publishLater('sent before the cancel', dueAt);
    await eventsOf((types) => types.includes(`scheduled:${soon}`));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now() + 100)));
    const schedule = createScheduleStore(cassandra);
    const deadline = Date.now() + 60_000;
    while ((await schedule.getScheduled(soon))?.state !== 'done' && Date.now() < deadline) {
      await scheduler?.tick();
    }
    const late = await cancel(soon, alice);
    expect([late.status, late.body.error]).toEqual([409, 'SCHEDULED_TOO_LATE']);
  });
});
