import { describe, expect, it } from 'vitest';
import type { DueEscalation } from '../../pipeline/store/escalations.ts';
import { type SweepDependencies, sweepEscalations } from './escalations.ts';

const row = (uid: string, dueAt: number): DueEscalation => ({
  minute: new Date(0),
  shard: 0,
  dueAt: new Date(dueAt),
  messageId: 'm1',
  uid,
  channel: 'apns',
  variant: null,
  locale: null,
  fallback: [],
});

function sweepOver(rows: DueEscalation[], recordedUpTo: number) {
  const settled: string[] = [];
  const probed: number[] = [];
  const deps: SweepDependencies = {
    store: {
      due: async () => rows,
      settle: async (settledRow, state) => {
        settled.push(`${settledRow.uid}:${state}`);
        return true;
      },
      job: async () => null,
    },
    acknowledged: async () => true,
    recordedUntil: async (time) => {
      probed.push(time);
      return time <= recordedUpTo;
    },
    emit: async () => undefined,
    owner: 'test',
    now: () => 10_000,
  };
  return { deps, settled, probed };
}

describe('sweepEscalations and the ack stage lag', () => {
  it('decides every due row once the acknowledgements up to the latest deadline are recorded', async () => {
    const { deps, settled, probed } = sweepOver([row('a', 1_000), row('b', 3_000)], 5_000);
    expect(await sweepEscalations(deps)).toEqual({ escalated: 0, acknowledged: 2, deferred: 0 });
    expect(settled).toEqual(['a:acknowledged', 'b:acknowledged']);
    expect(probed).toEqual([3_000]);
  });

  it('decides the rows of the earliest deadline when only that far is recorded, and leaves the rest', async () => {
    const { deps, settled, probed } = sweepOver([row('a', 1_000), row('b', 3_000), row('c', 1_000)], 2_000);
    expect(await sweepEscalations(deps)).toEqual({ escalated: 0, acknowledged: 2, deferred: 1 });
    expect(settled).toEqual(['a:acknowledged', 'c:acknowledged']);
    expect(probed).toEqual([3_000, 1_000]);
  });

  it('decides nothing, and touches no row, while even the earliest deadline is not recorded', async () => {
    const { deps, settled } = sweepOver([row('a', 1_000), row('b', 3_000)], 500);
    expect(await sweepEscalations(deps)).toEqual({ escalated: 0, acknowledged: 0, deferred: 2 });
    expect(settled).toEqual([]);
  });

  it('asks Kafka nothing when nothing is due', async () => {
    const { deps, probed } = sweepOver([], 0);
    expect(await sweepEscalations(deps)).toEqual({ escalated: 0, acknowledged: 0, deferred: 0 });
    expect(probed).toEqual([]);
  });
});
