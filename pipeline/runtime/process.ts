import type { KafkaMessage } from 'kafkajs';
import { permanent } from '../errors/index.ts';
import { messageBytes } from '../kafka/index.ts';
import {
  ChunkAbandonedError,
  classifyDecodeError,
  classifyHandlerError,
  type Failure,
  isOutputFlush,
  OutputFlushError,
} from './classify.ts';

export { ChunkAbandonedError, OutputFlushError } from './classify.ts';

import { textHeaders } from './headers.ts';
import { backoffDelay } from './policy.ts';
import type { Codec, ErrorPolicy, InputRecord, OutputRecord } from './types.ts';

/** A consumed record before decoding, with where it originally came from (the retry topic keeps that in headers). */
export interface PendingRecord {
  message: KafkaMessage;
  /** The logical topic the handler sees. */
  topic: string;
  source: { topic: string; partition: number; offset: string };
  /** Failures recorded by earlier trips through the retry topic; 0 for a fresh record. */
  priorAttempts: number;
}

export interface EncodedOutput {
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string> | undefined;
}

export interface FailedRecord {
  record: PendingRecord;
  failure: Failure;
  destination: 'retry' | 'dlq';
  /** Failures so far, this one included. */
  attempt: number;
  retryAt?: number;
}

export interface ChunkResult {
  outputs: EncodedOutput[];
  failed: FailedRecord[];
}

export interface ChunkDependencies {
  policy: ErrorPolicy;
  codec: Codec;
  outputTopics: ReadonlySet<string>;
  /** An encoded output above this many bytes is refused (the broker would refuse it, stalling the partition). */
  maxOutputBytes?: number;
  handler: (records: InputRecord[]) => Promise<OutputRecord[]> | AsyncIterable<OutputRecord>;
  /**
   * Produces part of a streaming handler's outputs and resolves once they are acknowledged. Without it a
   * stream's outputs are all kept for the result, like an array's.
   */
  flush?: (outputs: EncodedOutput[]) => Promise<void>;
  /** A streaming handler's outputs are flushed every this many records, or sooner at `maxOutputBytes`. */
  streamChunk?: number;
  /** Sleeps for a back-off while keeping the consumer's group membership alive. */
  wait: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  onError?: (failure: Failure, phase: 'decode' | 'handle') => void;
  onRetry?: (attempt: number, delayMs: number, failure: Failure) => void;
  /** True once the stage is stopping: a failure then abandons the chunk instead of retrying or setting aside. */
  stopping?: () => boolean;
}

interface Decoded {
  pending: PendingRecord;
  input: InputRecord;
}

/**
 * Turns one chunk of consumed records into encoded outputs plus the records that must go to the retry or
 * dead-letter topic. Never throws for a record's fault: decoding, the handler and output encoding failures
 * all end up in `failed`, so one poison record cannot stall its partition. A streaming handler's outputs are
 * partly produced through `deps.flush` on the way; a retry or a bisection re-runs the handler from the start,
 * so those may be produced again (downstream ids are deterministic). A failed flush or a stop is thrown.
 */
export async function processChunk(records: PendingRecord[], deps: ChunkDependencies): Promise<ChunkResult> {
  const run = new ChunkRun(deps);
  const batch = await run.decodeAll(records);
  if (batch.length > 0) await run.handleAll(batch);
  return { outputs: run.outputs, failed: run.failed };
}

/** One `processChunk` call: what it has produced and set aside so far, and its retry rules. */
class ChunkRun {
  readonly outputs: EncodedOutput[] = [];
  readonly failed: FailedRecord[] = [];
  private readonly deps: ChunkDependencies;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(deps: ChunkDependencies) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** Decoding: permanent failures leave at once; a serde that reports a retriable failure gets the budget. */
  async decodeAll(records: PendingRecord[]): Promise<Decoded[]> {
    const decoded: (Decoded | undefined)[] = new Array(records.length);
    let toDecode = records.map((pending, index) => ({ pending, index }));
    for (let attempt = 1; toDecode.length > 0; attempt++) {
      const again: { pending: PendingRecord; index: number; failure: Failure }[] = [];
      for (const item of toDecode) {
        try {
          decoded[item.index] = { pending: item.pending, input: await decodeRecord(item.pending, this.deps.codec) };
        } catch (error) {
          const failure = classifyDecodeError(error);
          this.deps.onError?.(failure, 'decode');
          if (failure.retriable) again.push({ ...item, failure });
          else this.fail(item.pending, failure);
        }
      }
      const first = again[0];
      if (!first) break;
      if (attempt >= this.deps.policy.attempts) {
        for (const item of again) this.fail(item.pending, item.failure);
        break;
      }
      await this.backOff(attempt, first.failure);
      toDecode = again;
    }
    return decoded.filter((item): item is Decoded => item !== undefined);
  }

  /** The whole chunk first, retried with back-off while the failure is retriable and the budget lasts. */
  async handleAll(batch: Decoded[]): Promise<void> {
    const { policy } = this.deps;
    let failure: Failure | undefined;
    for (let attempt = 1; ; attempt++) {
      failure = await this.attempt(batch);
      if (!failure) return;
      if (!failure.retriable || attempt >= policy.attempts) break;
      await this.backOff(attempt, failure);
    }
    await this.isolate(batch, failure);
  }

  /** Still failing: bisect so the good records flow and only the bad ones are set aside. */
  private async isolate(items: Decoded[], cause: Failure): Promise<void> {
    const only = items[0];
    if (items.length === 1 && only) {
      this.fail(only.pending, cause);
      return;
    }
    const middle = Math.ceil(items.length / 2);
    for (const half of [items.slice(0, middle), items.slice(middle)]) {
      const halfFailure = await this.attempt(half);
      if (halfFailure) await this.isolate(half, halfFailure);
    }
  }

  private async attempt(items: Decoded[]): Promise<Failure | undefined> {
    try {
      this.outputs.push(...(await handleAndEncode(items, this.deps)));
      return undefined;
    } catch (error) {
      if (isOutputFlush(error)) throw error.cause;
      this.abandonIfStopping();
      const failure = classifyHandlerError(error, this.deps.policy);
      this.deps.onError?.(failure, 'handle');
      return failure;
    }
  }

  /** A handler that gave up because of the shutdown signal has not judged the record: leave it for the next owner. */
  private abandonIfStopping(): void {
    if (this.deps.stopping?.()) throw new ChunkAbandonedError();
  }

  private fail(record: PendingRecord, failure: Failure): void {
    const { policy } = this.deps;
    const attempt = record.priorAttempts + 1;
    if (failure.retriable && record.priorAttempts < policy.delayedAttempts) {
      const retryAt = this.now() + backoffDelay(attempt, policy.delayedBaseMs, policy.delayedMaxMs, this.random);
      this.failed.push({ record, failure, destination: 'retry', attempt, retryAt });
    } else {
      this.failed.push({ record, failure, destination: 'dlq', attempt });
    }
  }

  private async backOff(attempt: number, failure: Failure): Promise<void> {
    this.abandonIfStopping();
    const { policy } = this.deps;
    const delay = backoffDelay(attempt, policy.baseMs, policy.maxMs, this.random);
    this.deps.onRetry?.(attempt, delay, failure);
    await this.deps.wait(delay);
  }
}

async function decodeRecord(pending: PendingRecord, codec: Codec): Promise<InputRecord> {
  const { message } = pending;
  const value = message.value === null ? null : await codec.decode(message.value);
  return {
    topic: pending.topic,
    partition: pending.source.partition,
    offset: pending.source.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value,
    headers: textHeaders(message.headers, true),
    timestamp: Number(message.timestamp),
  };
}

/**
 * The handler's outputs are encoded inside the attempt, so an output that fails its schema isolates its input.
 * An array comes back whole; a stream is flushed as it goes and only its tail comes back.
 */
async function handleAndEncode(items: Decoded[], deps: ChunkDependencies): Promise<EncodedOutput[]> {
  // Awaited either way: an async generator object is not a promise and passes through unchanged.
  const produced: unknown = await deps.handler(items.map((item) => item.input));
  if (Array.isArray(produced)) return Promise.all(produced.map((output: OutputRecord) => encodeOutput(output, deps)));
  if (isAsyncIterable(produced)) return streamOutputs(produced, deps);
  throw permanent('HANDLER_RESULT_INVALID', 'a stage handler must return an array or an AsyncIterable of outputs');
}

/**
 * Pulls a streaming handler's outputs one at a time, encodes each and flushes every `streamChunk` records
 * (sooner when the next would take a flush over `maxOutputBytes`), so memory holds one chunk, not the
 * stream. The handler is only asked for more once the previous flush is acknowledged. Returns the last,
 * partial chunk, which leaves with the chunk's result (and its retries and dead letters).
 */
async function streamOutputs(outputs: AsyncIterable<OutputRecord>, deps: ChunkDependencies): Promise<EncodedOutput[]> {
  const chunkRecords = Math.max(1, deps.streamChunk ?? 1_000);
  const budget = deps.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  let pending: EncodedOutput[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!deps.flush || pending.length === 0) return;
    const chunk = pending;
    pending = [];
    bytes = 0;
    try {
      await deps.flush(chunk);
    } catch (error) {
      throw new OutputFlushError(error);
    }
  };
  // Leaving the loop early (a throw, a failed flush) calls the iterator's return(), so a generator's
  // `finally` releases what it holds (an open cursor, a point in time).
  for await (const output of outputs) {
    const encoded = await encodeOutput(output, deps);
    const size = messageBytes(encoded);
    if (bytes + size > budget) await flush();
    pending.push(encoded);
    bytes += size;
    if (pending.length >= chunkRecords) await flush();
  }
  return pending;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<OutputRecord> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}

async function encodeOutput(output: OutputRecord, deps: ChunkDependencies): Promise<EncodedOutput> {
  if (!deps.outputTopics.has(output.topic)) {
    throw permanent('OUTPUT_TOPIC_UNDECLARED', `the stage does not declare output topic "${output.topic}"`);
  }
  const encoded: EncodedOutput = {
    topic: output.topic,
    key: output.key ?? null,
    value: output.value === null ? null : await deps.codec.encode(output.topic, output.value),
    headers: output.headers,
  };
  const bytes = messageBytes(encoded);
  if (deps.maxOutputBytes !== undefined && bytes > deps.maxOutputBytes) {
    throw permanent('OUTPUT_TOO_LARGE', `an output for ${output.topic} is ${bytes} bytes, over ${deps.maxOutputBytes}`);
  }
  return encoded;
}
