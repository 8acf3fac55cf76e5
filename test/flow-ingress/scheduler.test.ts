import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStages, runStages } from '../../pipeline/runtime/index.ts';
import { createScheduleStore } from '../../pipeline/store/schedule.ts';
import type { DeliveryEvent, IngestRequest, PrioritizedRequest } from '../../schemas/types.generated.ts';
import { stage as prioritize } from '../../stages/prioritize/index.ts';
import {
  createScheduleCanceller,
  createScheduler,
  type Scheduler,
  scheduleWriter,
} from '../../stages/scheduler/index.ts';
import { ingestRequest } from '../support/prioritize.ts';
import { createHarness, type Harness, produceValues, quiet, type Watch, watchTopic } from './support.ts';

let harness: Harness;
let running: RunningStages | undefined;
const schedulers: Scheduler[] = [];
const watches: Watch[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  harness = await createHarness();
});

afterAll(async () => {
  await running?.stop('test over');
  for (const scheduler of schedulers) await scheduler.close();
  for (const close of closers) await close();
  for (const watch of watches) await watch.stop();
  await harness?.dispose();
});

const watch = async (logical: string) => {
  const opened = await watchTopic(harness, logical);
  watches.push(opened);
  return opened;
};
const scheduler = (owner: string) => {
  const created = createScheduler(harness.config, { log: quiet, owner, intervalMs: 200, leaseMs: 60_000 });
  schedulers.push(created);
  return created;
};
const request = (overrides: Partial<IngestRequest>) => ingestRequest({ createdAt: Date.now(), ...overrides });
const laneIds = async (lane: Watch) =>
  (await lane.decoded<PrioritizedRequest>()).map((value) => value.request.requestId);

describe('scheduler against Kafka, the registry and Cassandra', () => {
  it('two scheduler instances re-inject each of N due requests exactly once', async () => {
    const lane = await watch('lane.2');
    const writer = scheduleWriter(createScheduleStore(harness.cassandra));
    const dueAt = Date.now() + 1_500;
    const ids = Array.from({ length: 30 }, (_, index) => `both-${index}`);
    for (const requestId of ids) {
      await writer.hold({ request: request({ requestId, scheduledAt: dueAt }), dueAt, urgency: 2, expiresAt: null });
    }
    const a = scheduler('scheduler-a');
    const b = scheduler('scheduler-b');
    await Promise.all([a.start(), b.start()]);

    await lane.until((records) => (records.length >= ids.length ? true : undefined));
    // Both loops stop after a running tick finishes; then one more pass each must find nothing left to claim.
    await Promise.all([a.stop(), b.stop()]);
    expect((await a.tick()).claimed).toBe(0);
    expect((await b.tick()).claimed).toBe(0);

    const injected = await lane.decoded<PrioritizedRequest>();
    expect(injected.map((value) => value.request.requestId).sort()).toEqual([...ids].sort());
    expect(injected.every((value) => value.scheduled && value.prioritizedAt >= dueAt)).toBe(true);
    const store = createScheduleStore(harness.cassandra);
    const states = await Promise.all(ids.map(async (id) => (await store.getScheduled(id))?.state));
    expect(new Set(states)).toEqual(new Set(['done']));

    // Head to head: two passes at the same moment over the same due rows split them between them.
    const more = Array.from({ length: 30 }, (_, index) => `race-${index}`);
    const past = Date.now() - 1_000;
    for (const requestId of more) {
      await writer.hold({
        request: request({ requestId, scheduledAt: past }),
        dueAt: past,
        urgency: 2,
        expiresAt: null,
      });
    }
    const [first, second] = await Promise.all([a.tick(), b.tick()]);
    expect((first?.claimed ?? 0) + (second?.claimed ?? 0)).toBe(more.length);
    expect((first?.due ?? 0) + (second?.due ?? 0)).toBeGreaterThan(more.length); // they did compete for rows
    await lane.until((records) => (records.length >= ids.length + more.length ? true : undefined));
    expect((await laneIds(lane)).sort()).toEqual([...ids, ...more].sort());
  });

  it('holds a scheduled request until its time, then re-injects it; a cancelled one never arrives', async () => {
    const lane = await watch('lane.3');
    const events = await watch('events');
    running = await runStages(harness.config, [prioritize], { log: quiet });
    const instance = scheduler('scheduler-c');
    await instance.start();
    const canceller = createScheduleCanceller(harness.config, { log: quiet });
    closers.push(canceller.close);

    const scheduledAt = Date.now() + 6_000;
    const sender = { kind: 'user' as const, id: 'u-sender' };
    const requests = [
      request({ requestId: 'at-time', scheduledAt, sender }),
      request({ requestId: 'cancel-me', scheduledAt, sender }),
    ];
    await produceValues(
      harness,
      'ingest',
      requests.map((value) => ({ key: value.requestId, value })),
    );
    const typesOf = async () =>
      (await events.decoded<DeliveryEvent>()).map((event) => `${event.type}:${event.requestId}`);
    await events.until(async () =>
      (await typesOf()).filter((type) => type.startsWith('scheduled:')).length >= 2 ? true : undefined,
    );
    expect(await laneIds(lane)).toEqual([]);

    // Only the sender (or an admin) may cancel.
    await expect(canceller.cancelScheduled('cancel-me', { uid: 'u-stranger', admin: false })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
    });
    await expect(canceller.cancelScheduled('never-held', { uid: 'u-sender', admin: false })).rejects.toMatchObject({
      status: 404,
    });
    expect(await canceller.cancelScheduled('cancel-me', { uid: 'u-sender', admin: false })).toEqual({
      requestId: 'cancel-me',
      state: 'cancelled',
      changed: true,
    });
    expect((await canceller.cancelScheduled('cancel-me', { uid: 'root', admin: true })).changed).toBe(false);

    await lane.until((records) => (records.length >= 1 ? true : undefined), 60_000);
    const [fired] = await lane.decoded<PrioritizedRequest>();
    expect(fired?.request.requestId).toBe('at-time');
    expect(fired?.scheduled).toBe(true);
    expect(fired?.prioritizedAt).toBeGreaterThanOrEqual(scheduledAt);

    // Past its due time and a full pass later, the cancelled request is still absent.
    await instance.stop();
    expect((await instance.tick()).claimed).toBe(0);
    expect(await laneIds(lane)).toEqual(['at-time']);
    await events.until(async () => ((await typesOf()).includes('cancelled:cancel-me') ? true : undefined));
    await expect(canceller.cancelScheduled('at-time', { uid: 'u-sender', admin: false })).rejects.toMatchObject({
      code: 'SCHEDULED_TOO_LATE',
      status: 409,
    });
  });
});
