import { partitionOfKey } from '../kafka/partition.ts';
import type { StoredRecord } from '../kafka/partition-reader.ts';

/** A request id as a record first carried it (`origin`: topic/partition/offset). */
export interface Sighting {
  requestId: string;
  origin: string;
}

/** The changelog record that makes a sighting survive the process: the `prioritize.sightings` value. */
export interface SightingRecord {
  requestId: string;
  origin: string;
  seenAt: number;
}

export interface SightingLogOptions {
  /** The changelog's partition count: ingest's, so a request id's sightings sit on its ingest partition. */
  partitions: number;
  /** How long a sighting is remembered. */
  windowMs: number;
  /** Reads changelog partition `partition` from `from` to its end (pipeline/kafka's PartitionReader). */
  read: (partition: number, from: bigint, onRecords: (records: StoredRecord[]) => Promise<void>) => Promise<bigint>;
  decode: (value: Buffer) => Promise<SightingRecord>;
  now?: () => number;
  /** Told after each read of a partition: how many records it read and how long it took. */
  onRead?: (read: { partition: number; from: bigint; to: bigint; records: number; ms: number }) => void;
}

interface PartitionState {
  /** Request id → its first sighting, in the order they were first seen (Map keeps insertion order). */
  seen: Map<string, { origin: string; seenAt: number }>;
  /** The changelog offset read up to. */
  readUpTo: bigint;
  /** Others may have written since the last read: catch up before deciding. */
  stale: boolean;
}

/**
 * Prioritize's de-duplication state, local to the ingest partition a request id belongs to, as Kafka
 * Streams keeps a state store: memory in front of a compacted changelog topic (`prioritize.sightings`).
 *
 * - **Deciding** costs no round trip for a partition this member owns and has read: nobody else writes its
 *   sightings. A request id is admitted when unseen (or forgotten after the window), or when the same record
 *   comes back (a redelivery); any other record with the id is a repeat.
 * - **Remembering** is the caller's output: `marks()` gives one changelog record per admitted sighting, which
 *   the stage produces with its other outputs. A crash before that produce redelivers the record, and memory
 *   already said "admit" to that origin; so a mark lost with the process loses nothing, and the same mark
 *   written twice is the same fact.
 * - **Restoring:** `assigned()` (each time the group hands this member its partitions) marks every partition
 *   stale; the next decision on it reads the changelog from where this member stopped (the whole partition
 *   the first time), so sightings another member wrote in between are known. A partition this member does
 *   not own (a record replayed from the retry topic, whose group is another; an ingest record keyed by
 *   something else) is read up to its end before every decision.
 * - **The window it cannot close:** a member that lost a partition but has not noticed (a paused process
 *   past its session timeout) can still write one batch's sightings after the new owner read. A repeat in
 *   that moment is admitted twice; the message id triage derives from the request id makes the copies one
 *   message downstream, as with any redelivery.
 *
 * Memory: about 180 bytes per request id seen in the window, per partition this member has decided on
 * (docs/ARCHITECTURE.md has the measurement).
 */
export function createSightingLog(options: SightingLogOptions) {
  const now = options.now ?? Date.now;
  const states = new Map<number, PartitionState>();
  let owned = new Set<number>();
  /** Counts assignments: a read that an assignment overtook leaves its partition stale. */
  let assignments = 0;
  const pending = new Map<number, Promise<PartitionState>>();

  // Where the producers' partitioner puts the key (pipeline/kafka/partition.ts).
  const partitionOf = (requestId: string) => partitionOfKey(requestId, options.partitions);

  const expired = (seenAt: number, at: number) => seenAt <= at - options.windowMs;

  /** Drops sightings older than the window from the front (oldest first). */
  const forget = (state: PartitionState, at: number) => {
    for (const [requestId, sighting] of state.seen) {
      if (!expired(sighting.seenAt, at)) break;
      state.seen.delete(requestId);
    }
  };

  const apply = (state: PartitionState, record: SightingRecord, at: number) => {
    if (expired(record.seenAt, at)) return;
    const known = state.seen.get(record.requestId);
    // The first sighting wins; a later record for the id is the same fact written again.
    if (known !== undefined && !expired(known.seenAt, at)) return;
    state.seen.delete(record.requestId);
    state.seen.set(record.requestId, { origin: record.origin, seenAt: record.seenAt });
  };

  const catchUp = async (partition: number): Promise<PartitionState> => {
    const state = states.get(partition) ?? { seen: new Map(), readUpTo: 0n, stale: true };
    const during = assignments;
    const at = now();
    const started = performance.now();
    const from = state.readUpTo;
    let count = 0;
    state.readUpTo = await options.read(partition, from, async (records) => {
      count += records.length;
      for (const record of records) {
        if (record.value !== null) apply(state, await options.decode(record.value), at);
      }
    });
    // Given away and back while reading, another member may have written after the end read.
    state.stale = during !== assignments;
    options.onRead?.({ partition, from, to: state.readUpTo, records: count, ms: performance.now() - started });
    states.set(partition, state);
    return state;
  };

  /** One read per partition at a time: concurrent batches wait for the same catch-up. */
  const ready = (partition: number): Promise<PartitionState> => {
    const state = states.get(partition);
    if (state !== undefined && !state.stale && owned.has(partition)) return Promise.resolve(state);
    let reading = pending.get(partition);
    if (reading === undefined) {
      reading = catchUp(partition).finally(() => pending.delete(partition));
      pending.set(partition, reading);
    }
    return reading;
  };

  return {
    partitionOf,

    /** The group gave this member these ingest partitions (its whole assignment). */
    assigned(partitions: Iterable<number>): void {
      owned = new Set(partitions);
      assignments++;
      for (const state of states.values()) state.stale = true;
      // A partition owned by another member is only ever read again in full when asked about.
      for (const partition of states.keys()) if (!owned.has(partition)) states.delete(partition);
    },

    /** Whether each sighting is admitted, in input order; remembers the admitted ones in memory. */
    async admitMany(sightings: readonly Sighting[]): Promise<boolean[]> {
      const partitionOfEach = sightings.map(({ requestId }) => partitionOf(requestId));
      const partitions = [...new Set(partitionOfEach)];
      const byPartition = new Map(await Promise.all(partitions.map(async (p) => [p, await ready(p)] as const)));
      const at = now();
      return sightings.map(({ requestId, origin }, index) => {
        const state = byPartition.get(partitionOfEach[index]!)!;
        forget(state, at);
        const known = state.seen.get(requestId);
        if (known !== undefined && !expired(known.seenAt, at)) return known.origin === origin;
        state.seen.delete(requestId);
        state.seen.set(requestId, { origin, seenAt: at });
        return true;
      });
    },

    /** The changelog records of admitted sightings (the first sighting's time, for a redelivery too). */
    marks(admitted: readonly Sighting[]): SightingRecord[] {
      return admitted.map(({ requestId, origin }) => {
        const known = states.get(partitionOf(requestId))?.seen.get(requestId);
        return { requestId, origin, seenAt: known?.origin === origin ? known.seenAt : now() };
      });
    },

    /** Request ids remembered, for the gauge and tests. */
    size(): number {
      let total = 0;
      for (const state of states.values()) total += state.seen.size;
      return total;
    },
  };
}

export type SightingLog = ReturnType<typeof createSightingLog>;
