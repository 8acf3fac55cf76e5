import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import { createScheduleStore, type ScheduledRow, type ScheduleStore } from '../../pipeline/store/index.ts';
import { createTestKeyspace, sleep, type TestKeyspace } from './support.ts';

let keyspace: TestKeyspace;
let schedule: ScheduleStore;

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  schedule = createScheduleStore(keyspace.client);
});
afterAll(async () => keyspace?.dispose());

const record = (id: string) => Buffer.from(JSON.stringify({ id }));
let prefixCounter = 0;
const prefix = () => {
  prefixCounter += 1;
  return `r${prefixCounter}-`;
};

/** Claims until nothing is due any more; returns what this owner won. */
async function drain(store: ScheduleStore, owner: string, ids: Set<string>): Promise<ScheduledRow[]> {
  const won: ScheduledRow[] = [];
  for (let round = 0; round < 20; round += 1) {
    const claimed = (await store.claimDue(Date.now(), owner, { limit: 7, leaseMs: 60_000 })).filter((row) =>
      ids.has(row.requestId),
    );
    won.push(...claimed);
    for (const row of claimed) expect(await store.complete(row, owner)).toBe(true);
    if (claimed.length === 0 && round > 2) break;
  }
  return won;
}

describe('schedule store', () => {
  it('re-injects each due row exactly once with two schedulers claiming at the same time', async () => {
    const p = prefix();
    const ids = Array.from({ length: 40 }, (_, index) => `${p}${index}`);
    const due = Date.now() + 300;
    for (const id of ids) expect(await schedule.schedule({ requestId: id, dueAt: due, record: record(id) })).toBe(true);
    // Not due a millisecond before their time.
    expect((await schedule.dueRows(due - 1, 100)).filter((row) => row.requestId.startsWith(p))).toEqual([]);
    while (Date.now() <= due) await sleep(100);

    // A second scheduler with its own connection.
    const otherClient = createCassandra(keyspace.config);
    try {
      const other = createScheduleStore(otherClient);
      const wanted = new Set(ids);
      const [a, b] = await Promise.all([drain(schedule, 'scheduler-a', wanted), drain(other, 'scheduler-b', wanted)]);
      const claimed = [...a, ...b].map((row) => row.requestId);
      expect(claimed.sort()).toEqual([...ids].sort());
      expect(new Set(claimed).size).toBe(ids.length);
      expect(a.every((row) => row.record.equals(record(row.requestId)))).toBe(true);
    } finally {
      await otherClient.shutdown();
    }
    expect(await schedule.claimDue(Date.now(), 'late', { limit: 100 })).toEqual([]);
    expect((await schedule.getScheduled(ids[0] as string))?.state).toBe('done');
  });

  it('holds a request id once: scheduling it again neither duplicates nor revives it', async () => {
    const id = `${prefix()}once`;
    expect(
      await schedule.schedule({ requestId: id, dueAt: Date.now() - 1_000, record: record(id), senderId: 'u1' }),
    ).toBe(true);
    expect(await schedule.schedule({ requestId: id, dueAt: Date.now() - 1_000, record: record(id) })).toBe(false);
    const [row] = (await schedule.claimDue(Date.now(), 'a')).filter((r) => r.requestId === id);
    expect(row?.senderId).toBe('u1');
    await schedule.complete(row as ScheduledRow, 'a');
    expect(await schedule.schedule({ requestId: id, dueAt: Date.now(), record: record(id) })).toBe(false);
    expect((await schedule.claimDue(Date.now(), 'b')).filter((r) => r.requestId === id)).toEqual([]);
  });

  it('never re-injects a cancelled request, and cannot cancel one already claimed', async () => {
    const p = prefix();
    await schedule.schedule({ requestId: `${p}cancel`, dueAt: Date.now() + 200, record: record('c'), senderId: 'u1' });
    await schedule.schedule({ requestId: `${p}keep`, dueAt: Date.now() + 200, record: record('k'), senderId: 'u1' });
    expect(await schedule.cancelScheduled(`${p}cancel`, 'u1')).toBe('cancelled');
    expect(await schedule.cancelScheduled(`${p}cancel`, 'admin')).toBe('already_cancelled');
    expect(await schedule.cancelScheduled(`${p}missing`, 'u1')).toBe('not_found');
    expect(await schedule.getScheduled(`${p}cancel`)).toMatchObject({
      state: 'cancelled',
      cancelledBy: 'u1',
      senderId: 'u1',
    });
    await sleep(400);

    const claimed = (await schedule.claimDue(Date.now(), 'a')).map((row) => row.requestId);
    expect(claimed).toContain(`${p}keep`);
    expect(claimed).not.toContain(`${p}cancel`);
    expect(await schedule.cancelScheduled(`${p}keep`, 'u1')).toBe('too_late');
  });

  it('lets another scheduler take over a row whose lease ran out, and only the holder completes it', async () => {
    const id = `${prefix()}lease`;
    await schedule.schedule({ requestId: id, dueAt: Date.now() - 10, record: record(id) });
    const [first] = (await schedule.claimDue(Date.now(), 'crashed', { leaseMs: 200 })).filter(
      (r) => r.requestId === id,
    );
    expect(first?.attempts).toBe(0);
    // Still leased: nobody else gets it.
    expect((await schedule.claimDue(Date.now(), 'b')).filter((r) => r.requestId === id)).toEqual([]);
    await sleep(400);
    const [second] = (await schedule.claimDue(Date.now(), 'b')).filter((r) => r.requestId === id);
    expect(second).toMatchObject({ requestId: id, owner: 'crashed', attempts: 1 });
    expect(await schedule.complete(first as ScheduledRow, 'crashed')).toBe(false);
    expect(await schedule.complete(second as ScheduledRow, 'b')).toBe(true);
  });

  it('gives a released row back at once', async () => {
    const id = `${prefix()}release`;
    await schedule.schedule({ requestId: id, dueAt: Date.now() - 10, record: record(id) });
    const [row] = (await schedule.claimDue(Date.now(), 'a', { leaseMs: 60_000 })).filter((r) => r.requestId === id);
    expect(await schedule.release(row as ScheduledRow, 'a')).toBe(true);
    const [again] = (await schedule.claimDue(Date.now(), 'b')).filter((r) => r.requestId === id);
    expect(again?.requestId).toBe(id);
  });

  it('finds rows left in earlier minutes after a scheduler outage', async () => {
    const p = prefix();
    // A row claimed and never completed holds the watermark back while time moves on.
    await schedule.schedule({ requestId: `${p}stuck`, dueAt: Date.now() - 10, record: record('s') });
    const [stuck] = (await schedule.claimDue(Date.now(), 'dead', { leaseMs: 100 })).filter(
      (r) => r.requestId === `${p}stuck`,
    );
    expect(stuck).toBeDefined();
    // Schedulers poll "in the future" (two minutes on) and still find the expired claim from an earlier minute.
    await sleep(200);
    const later = Date.now() + 120_000;
    const rows = await schedule.dueRows(later, 100);
    expect(rows.map((row) => row.requestId)).toContain(`${p}stuck`);
  });
});
