/**
 * The stage runtime: a stage declares its topics and a handler over decoded batches; the runtime owns the
 * consumer group, decoding, retries, dead letters, producing, committing, metrics and shutdown.
 *
 * - Batches: kafkajs `eachBatch` per partition, cut into chunks of `config.runtime.handlerBatch` records; one
 *   handler call per chunk. A chunk's outputs, retries and dead letters leave in one produce call (split only
 *   above `maxProduceBytes`), acks=-1, idempotent producer. Offsets are resolved after the produce is
 *   acknowledged and committed at most every `commitIntervalMs` per consumer group membership, the last ones
 *   by a trailing commit at the interval's end (`commit-queue.ts`), and at once when a batch fails or the stage
 *   stops: at-least-once, a crash redoes at most an interval of records. At light traffic a commit per fetched
 *   batch would cost the broker one OffsetCommit per record per stage.
 * - Streaming outputs: a handler may return an AsyncIterable (write it as an `async function*`) instead of an
 *   array. The runtime pulls it one record at a time, encodes each and produces every
 *   `config.runtime.streamChunk` records (1,000) or sooner when the next would pass `maxProduceBytes`, waiting
 *   for each produce's acknowledgement (and heartbeating) before it asks for more: memory holds one chunk,
 *   not the stream. The last partial chunk leaves with the chunk's retries and dead letters; the input
 *   offsets are resolved and committed only after everything the stream yielded was acknowledged. A stream
 *   that throws follows the same error policy as a throwing handler, and a retry or a bisection re-runs the
 *   handler from the start: outputs already produced are produced again (so downstream ids must be
 *   deterministic). A failed produce ends the fetched batch as at a chunk's end; a stop abandons the stream
 *   after the chunk in hand (the next owner of the partition redoes it). Leaving a stream early calls its
 *   `return()`, so a generator's `finally` runs.
 * - Failures: undecodable bytes go to `<stage>.dlq` at once. A failing chunk is retried in-process with
 *   exponential back-off and jitter while the error is retriable (`MsgxcError.retriable`; unknown errors are
 *   retriable; `errors.classify` overrides), then bisected so the good records flow. A record still failing
 *   retriably goes to `<stage>.retry` (`msgxc-retry-at` header; the stage consumes it after that time, pausing
 *   only that partition) and after `delayedAttempts` trips to `<stage>.dlq`; a permanent failure goes to
 *   `<stage>.dlq` directly. Both keep the original key, bytes and headers plus `failureHeader`s.
 *   `per-instance` stages have no retry topic (every instance would replay it).
 * - Topics: a stage's input and output topics must exist (`msgxc topics`); its `<stage>.retry` and
 *   `<stage>.dlq` are created at start-up when missing (the topic table's layout, else the input's partition
 *   count), waiting out the "unknown topic" a KRaft broker may answer right after a creation.
 * - Services: long-running components that are not Kafka stages (the scheduler; `services` in stages/index.ts,
 *   `{ start(), close() }`) run beside the stages under `msgxc run <name…|all>`: started once the stages have
 *   joined their groups, closed first on the way down (they may feed the stages).
 * - Shutdown: `stop()` (SIGTERM/SIGINT under `msgxc run`) closes the services, lets the chunk in hand finish,
 *   produce and commit, leaves the group and closes the stage's dependencies; a chunk failing while stopping
 *   is left uncommitted.
 */
export { createDefaultCodec, jsonCodec, rawCodec } from './codec.ts';
export { failureHeader } from './headers.ts';
export { deadLetterTopic, groupIdFor, kafkaTopicName, retryTopic } from './names.ts';
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
  Service,
  StageContext,
  StageDefinition,
} from './types.ts';
