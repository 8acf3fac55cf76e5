import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (its last release) keeps every broker connection's request queue polling once a millisecond
 * for as long as the connection lives, busy or idle (tulios/kafkajs#1556, #1704; the pull requests fixing it
 * were never merged). Once a response arrives, `checkPendingRequests` calls `scheduleCheckPendingRequests`,
 * which arms a timer even when nothing is pending, with a negative delay that Node runs after 1 ms (hence the
 * `TimeoutNegativeWarning` the npm scripts silence). Measured with `strace -c` on an idle stage process:
 * about 1,700 wake-ups a second; ten stage processes on two cores spend 2 % of a core each doing it, and wake
 * the scheduler 17,000 times a second between them, next to the latency path.
 *
 * The queue only needs a timer while requests wait in it: when throttled by the broker, until the throttle
 * ends; when held back by the in-flight limit, as a fallback to the response that frees a slot (which checks
 * the queue itself). A request that has to wait is pushed onto the queue, which schedules the check then, so
 * nothing is lost by not polling an empty queue. This replaces that one method, on kafkajs's own class.
 */

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own fallback interval while requests wait on the in-flight limit. */
const recheckMs = 10;
const require = createRequire(import.meta.url);
let applied: boolean | undefined;

/** Replaces kafkajs's polling `scheduleCheckPendingRequests`; idempotent. False when kafkajs's shape differs. */
export function stopIdleRequestQueuePolling(): boolean {
  if (applied !== undefined) return applied;
  const { version } = require('kafkajs/package.json') as { version: string };
  const RequestQueueClass = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: Partial<RequestQueue>;
  };
  // Another kafkajs (a release that fixed it, or reshaped the class) keeps its own method.
  applied = version === '2.2.4' && typeof RequestQueueClass.prototype.scheduleCheckPendingRequests === 'function';
  if (!applied) return false;
  RequestQueueClass.prototype.scheduleCheckPendingRequests = function schedule(this: RequestQueue) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : recheckMs,
    );
  };
  return true;
}
