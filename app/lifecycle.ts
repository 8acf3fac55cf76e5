/**
 * How a long-running msgxc command learns that it should stop. Supervisors signal the process they started
 * — which under `npm start` is npm, not this one — so besides SIGTERM/SIGINT/SIGHUP the process watches
 * its parent: re-parented (npm killed, a terminal closed) means nobody is left to stop it, so it stops.
 */
export type StopReason = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'parent exited' | 'stages stopped';

export interface StopWatchOptions {
  /** Settles when the work stopped by itself (a stage crashed for good). */
  done?: Promise<unknown>;
  /** How often the parent is checked. */
  parentPollMs?: number;
}

export function waitForStop(options: StopWatchOptions = {}): Promise<StopReason> {
  const originalParent = process.ppid;
  return new Promise((resolve) => {
    const handlers = new Map<NodeJS.Signals, () => void>();
    const finish = (reason: StopReason) => {
      clearInterval(parentWatch);
      for (const [signal, handler] of handlers) process.off(signal, handler);
      resolve(reason);
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      const handler = () => finish(signal);
      handlers.set(signal, handler);
      process.once(signal, handler);
    }
    const parentWatch = setInterval(() => {
      if (process.ppid !== originalParent) finish('parent exited');
    }, options.parentPollMs ?? 1_000);
    parentWatch.unref();
    void options.done?.then(() => finish('stages stopped'));
  });
}

/**
 * After a stop the clients should have closed every handle; if one (a stuck produce, a driver timer) holds
 * the event loop, exit anyway, so a supervisor sees the process end and can restart it.
 */
export function exitAfter(graceMs: number, code: () => number): void {
  setTimeout(() => process.exit(code()), graceMs).unref();
}
