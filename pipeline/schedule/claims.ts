import type { Logger } from '../log/index.ts';
import type { ScheduledRow, ScheduleStore } from '../store/schedule.ts';
import { decodeHeld, encodeHeld } from './record.ts';
import type { DueRow, HeldRequest, ScheduleClaims, ScheduleWriter } from './types.ts';

/** Adapters between the schedule store (pipeline/store/schedule.ts) and prioritize and the scheduler loop. */

export interface StoreDueRow extends DueRow {
  row: ScheduledRow;
}

type Store = Pick<ScheduleStore, 'dueRows' | 'claim' | 'complete' | 'release'>;

/** prioritize's `ScheduleWriter`: the store's `schedule` is insert-if-absent, so a redelivery never revives a row. */
export function scheduleWriter(store: Pick<ScheduleStore, 'schedule'>): ScheduleWriter {
  return {
    async hold(held: HeldRequest) {
      await store.schedule({
        requestId: held.request.requestId,
        dueAt: held.dueAt,
        record: encodeHeld(held),
        senderId: held.request.sender.id,
      });
    },
  };
}

export function scheduleClaims(store: Store, log: Logger): ScheduleClaims<StoreDueRow> {
  return {
    async due(now, limit) {
      const rows = await store.dueRows(now, limit);
      const due: StoreDueRow[] = [];
      for (const row of rows) {
        try {
          due.push({ requestId: row.requestId, dueAt: row.dueAt.getTime(), held: decodeHeld(row.record), row });
        } catch (error) {
          // A row nobody can re-inject would be due forever: retire it, loudly, by whoever gets the claim.
          const owner = 'scheduler-discard';
          if (await store.claim(row, owner, Date.now() + 60_000)) {
            await store.complete(row, owner);
            log.error({ err: error, requestId: row.requestId }, 'discarded a scheduled request that cannot be decoded');
          }
        }
      }
      return due;
    },
    claim: (due, owner, leaseUntil) => store.claim(due.row, owner, leaseUntil),
    complete: (due, owner) => store.complete(due.row, owner),
    release: (due, owner) => store.release(due.row, owner),
  };
}
