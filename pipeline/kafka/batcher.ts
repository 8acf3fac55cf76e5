/**
 * Group commit for producers whose callers hand in a few records each (sockets, HTTP requests): records
 * gather for `lingerMs` (0: until the end of the current event-loop turn) and leave together in one send,
 * and while `maxInFlight` sends await their acknowledgement newly handed-in records wait and join the next,
 * so many concurrent callers cost one round trip per batch rather than one each. kafkajs has no linger of
 * its own. Every caller's promise settles with its batch: resolved when the send resolved, rejected with its
 * error otherwise; a failed batch does not hold up the next.
 */

export interface BatchingOptions {
  /**
   * Records per send at most; reaching it sends at once, without waiting for the linger. One caller's records
   * are never split, so a caller handing in more than this gets a send of its own.
   */
  maxRecords?: number;
  /** How long the first record of a batch waits for others; 0 waits until the end of this event-loop turn. */
  lingerMs?: number;
  /** Sends awaiting their answer at once; records arriving meanwhile gather into the next. Unbounded by default. */
  maxInFlight?: number;
}

export interface Batcher<T, R = void> {
  /** Resolves with the result of the send that carried these items. */
  add(items: readonly T[]): Promise<R>;
  /** Sends what is gathered without waiting for the linger, and waits until nothing is queued or in flight. */
  flush(): Promise<void>;
}

interface Pending<T, R> {
  items: readonly T[];
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export function createBatcher<T, R = void>(
  send: (items: T[]) => Promise<R>,
  options: BatchingOptions = {},
): Batcher<T, R> {
  const maxRecords = options.maxRecords ?? 500;
  const lingerMs = options.lingerMs ?? 0;
  const maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
  const queue: Pending<T, R>[] = [];
  let queued = 0;
  let inFlight = 0;
  let cancelTimer: (() => void) | undefined;
  const idle: (() => void)[] = [];

  const take = (): Pending<T, R>[] => {
    const batch: Pending<T, R>[] = [];
    let count = 0;
    while (queue.length > 0 && (batch.length === 0 || count + queue[0]!.items.length <= maxRecords)) {
      const next = queue.shift()!;
      batch.push(next);
      count += next.items.length;
    }
    queued -= count;
    return batch;
  };

  const sendOne = async (batch: Pending<T, R>[]): Promise<void> => {
    try {
      const result = await send(batch.flatMap((pending) => pending.items));
      for (const pending of batch) pending.resolve(result);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  };

  const atTurnEnd = (run: () => void) => {
    const immediate = setImmediate(run);
    return () => clearImmediate(immediate);
  };
  const after = (ms: number, run: () => void) => {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  };

  /** Sends what is queued, up to `maxInFlight` batches at once; a finished batch lets the next one go. */
  const dispatch = () => {
    cancelTimer?.();
    cancelTimer = undefined;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = take();
      inFlight++;
      void sendOne(batch).finally(() => {
        inFlight--;
        // What queued up behind a full window has waited long enough: it leaves at the end of this turn.
        if (queue.length > 0) cancelTimer ??= atTurnEnd(dispatch);
        else if (inFlight === 0) for (const resolve of idle.splice(0)) resolve();
      });
    }
  };

  return {
    add(items) {
      if (items.length === 0) return Promise.resolve(undefined as R);
      return new Promise<R>((resolve, reject) => {
        queue.push({ items, resolve, reject });
        queued += items.length;
        if (queued >= maxRecords) dispatch();
        else cancelTimer ??= lingerMs === 0 ? atTurnEnd(dispatch) : after(lingerMs, dispatch);
      });
    },
    async flush() {
      dispatch();
      if (queue.length > 0 || inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
