/**
 * The stage runtime: a stage declares its topics and a handler over decoded batches; the runtime owns the
 * consumer group, decoding, retries, dead letters, producing, committing, metrics and shutdown.
 *
 * - Batches: kafkajs `eachBatch` per partition, cut into chunks of `config.runtime.handlerBatch` records; one
 *   handler call per chunk. A chunk's outputs, retries and dead letters leave in one produce call (split only
 *   above `maxProduceBytes`), acks=-1, idempotent producer. Offsets are resolved after the produce is
 *   acknowledged and committed at most every `commitIntervalMs` and always at the end of a fetched batch:
 *   at-least-once, a crash redoes at most that much.
 * - Failures: undecodable bytes go to `<stage>.dlq` at once. A failing chunk is retried in-process with
 *   exponential back-off and jitter while the error is retriable (`MsgxcError.retriable`; unknown errors are
 *   retriable; `errors.classify` overrides), then bisected so the good records flow. A record still failing
 *   retriably goes to `<stage>.retry` (`msgxc-retry-at` header; the stage consumes it after that time, pausing
 *   only that partition) and after `delayedAttempts` trips to `<stage>.dlq`; a permanent failure goes to
 *   `<stage>.dlq` directly. Both keep the original key, bytes and headers plus `failureHeader`s.
 *   `per-instance` stages have no retry topic (every instance would replay it).
 * - Shutdown: `stop()` (SIGTERM/SIGINT under `msgxc run`) lets the chunk in hand finish, produce and commit,
 *   leaves the group and closes the stage's dependencies; a chunk failing while stopping is left uncommitted.
 */
export { createDefaultCodec, jsonCodec, rawCodec } from './codec.ts';
export { failureHeader } from './headers.ts';
export { deadLetterTopic, retryTopic } from './names.ts';
export { backoffDelay, resolvePolicy } from './policy.ts';
export { defineStage, runStages, serveStages, stopOnSignals } from './run-stages.ts';
export type {
  AnyStageDefinition,
  Codec,
  ErrorPolicy,
  InputRecord,
  OutputRecord,
  RunningStages,
  RunOptions,
  StageContext,
  StageDefinition,
} from './types.ts';
