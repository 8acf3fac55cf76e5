import { describe, expect, it } from 'vitest';
import { urgencyRankOf } from '../topics/lanes.ts';
import { defineStage } from './run-stages.ts';
import { stageRank, UrgencyGate } from './urgency-gate.ts';

describe('urgency gate', () => {
  it('ranks lanes, fanout lanes and delivery topics, and leaves topics of every urgency unranked', () => {
    expect(
      ['ingest', 'lane.4', 'fanout.urgent', 'deliver.ws.urgent', 'deliver.apns.urgent'].map(urgencyRankOf),
    ).toEqual([2, 2, 2, 2, 2]);
    expect(['lane.3', 'fanout', 'deliver.ws', 'deliver.email'].map(urgencyRankOf)).toEqual([1, 1, 1, 1]);
    expect(['lane.1', 'lane.2', 'fanout.bulk'].map(urgencyRankOf)).toEqual([0, 0, 0]);
    expect(['events', 'acks', 'audience', 'deliver.ws.retry'].map(urgencyRankOf)).toEqual([null, null, null, null]);
  });

  it('lets a lower rank through at once when nothing above it is busy', async () => {
    const gate = new UrgencyGate({ maxWaitMs: 10_000 });
    const release = gate.hold(0);
    expect(await gate.giveWay(0)).toBe(false);
    expect(await gate.giveWay(1)).toBe(false);
    release();
  });

  it('holds a lower rank until the urgent work is released', async () => {
    const gate = new UrgencyGate({ maxWaitMs: 10_000 });
    const release = gate.hold(2);
    let passed = false;
    const waiting = gate.giveWay(0).then((waited) => {
      passed = true;
      return waited;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(passed).toBe(false);
    // Urgent work never waits for itself or for anything below it.
    expect(await gate.giveWay(2)).toBe(false);
    release();
    expect(await waiting).toBe(true);
    release(); // twice is once
    expect(gate.busyAbove(0)).toBe(false);
  });

  it('bounds the wait, so a steady urgent flow slows a bulk lane but never starves it', async () => {
    const gate = new UrgencyGate({ maxWaitMs: 40 });
    gate.hold(1);
    const started = Date.now();
    expect(await gate.giveWay(0)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(gate.busyAbove(0)).toBe(true);
  });

  it('ignores unranked work: it neither waits nor holds anyone up', async () => {
    const gate = new UrgencyGate({ maxWaitMs: 10_000 });
    gate.hold(null);
    gate.hold(2);
    expect(await gate.giveWay(null)).toBe(false);
  });
});

describe('stage rank', () => {
  const stage = (input: string[]) => defineStage({ name: 'rank-probe', input, output: [], handler: async () => [] });

  it('is the most urgent of its inputs, so a stage reading both delivery topics of a channel is urgent', () => {
    expect(stageRank(stage(['deliver.ws.urgent', 'deliver.ws']))).toBe(2);
    expect(stageRank(stage(['fanout.bulk']))).toBe(0);
    expect(stageRank(stage(['lane.1']))).toBe(0);
    expect(stageRank(stage(['events', 'acks']))).toBeNull();
  });

  it('ranks a background stage with the bulk lanes, whatever it reads', () => {
    const background = (input: string[]) =>
      defineStage({ name: 'bookkeeping', input, output: [], priority: 'background', handler: async () => [] });
    expect(stageRank(background(['events', 'acks']))).toBe(0);
    expect(stageRank(background(['deliver.ws.urgent']))).toBe(0);
  });
});
