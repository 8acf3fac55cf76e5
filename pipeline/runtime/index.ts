/**
 * The stage runtime: a stage declares its topics and a handler over decoded batches; the runtime owns the
 * consumer group, decoding, retries, dead letters, producing, committing, metrics and shutdown.
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
