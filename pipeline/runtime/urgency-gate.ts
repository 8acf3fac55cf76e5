import { type UrgencyRank, urgencyRankOf } from '../topics/lanes.ts';
import type { AnyStageDefinition } from './types.ts';

/**
 * Lower lanes give way while a higher lane has work, inside one process: a stage reading a bulk lane waits
 * before its next chunk (and before producing the next part of a stream) while a stage of this process is
 * handling urgent records. The wait is bounded, so a steady urgent flow slows the bulk lanes but never
 * starves them past their consumer session. Across processes the same idea is the OS scheduler's: a
 * process that hosts only bulk lanes runs at a lower priority (run-stages.ts).
 */
export class UrgencyGate {
  private readonly active: [number, number, number] = [0, 0, 0];
  private readonly waiters = new Set<() => void>();
  private readonly maxWaitMs: number;

  constructor(options: { maxWaitMs: number }) {
    this.maxWaitMs = options.maxWaitMs;
  }

  /** Marks work of `rank` in progress until the returned function is called (once). */
  hold(rank: UrgencyRank | null): () => void {
    if (rank === null) return () => undefined;
    this.active[rank]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active[rank]--;
      // Each waiter checks again whether it may go on.
      for (const waiter of [...this.waiters]) waiter();
    };
  }

  /** Whether work ranked above `rank` is in progress. */
  busyAbove(rank: UrgencyRank | null): boolean {
    if (rank === null) return false;
    for (let above = rank + 1; above < this.active.length; above++) if (this.active[above]! > 0) return true;
    return false;
  }

  /** Resolves at once when nothing above `rank` is busy; otherwise when it stops being, or after maxWaitMs. */
  async giveWay(rank: UrgencyRank | null): Promise<boolean> {
    if (!this.busyAbove(rank)) return false;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (!this.busyAbove(rank)) done();
      };
      const timer = setTimeout(done, this.maxWaitMs);
      this.waiters.add(check);
    });
    return true;
  }
}

/** The lane a stage serves: the most urgent of its inputs (null when it reads topics of every urgency). */
export function stageRank(stage: AnyStageDefinition): UrgencyRank | null {
  if (stage.priority === 'background') return 0;
  const ranks = stage.input.map(urgencyRankOf).filter((rank): rank is UrgencyRank => rank !== null);
  return ranks.length === 0 ? null : (Math.max(...ranks) as UrgencyRank);
}
