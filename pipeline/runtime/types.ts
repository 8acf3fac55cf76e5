import type { Registry } from 'prom-client';
import type { Config } from '../config/index.ts';
import type { ProduceTransport } from '../kafka/producer.ts';
import type { Logger } from '../log/index.ts';

/**
 * One decoded record as a handler sees it. A record replayed from `<stage>.retry` looks as it first did:
 * `topic` is the logical input topic, `partition` and `offset` where it was first consumed.
 */
export interface InputRecord<T = unknown> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  headers: Record<string, string>;
  timestamp: number;
}

/** What a handler returns: the runtime encodes `value` for the logical `topic` and produces it. */
export interface OutputRecord {
  topic: string;
  key?: string | null;
  value: unknown;
  headers?: Record<string, string>;
}

export interface StageContext<D> {
  config: Config;
  log: Logger;
  deps: D;
  /** Aborted when the process is shutting down: long waits inside a handler should give up. */
  signal: AbortSignal;
  /**
   * Waits (at most 250 ms) while this process handles records of a more urgent lane than this stage's; a
   * handler working through a long batch calls it between slices (the runtime already does between chunks).
   */
  giveWay: () => Promise<void>;
}

/** How a stage treats failing records. Unset fields come from `config.runtime`. */
export interface ErrorPolicy {
  /** In-process tries of a failing batch, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** Trips through `<stage>.retry` before `<stage>.dlq`; 0 disables the retry topic. */
  delayedAttempts: number;
  delayedBaseMs: number;
  delayedMaxMs: number;
  /** Overrides the default classification (MsgxcError's flag; unknown errors retriable). */
  classify?: (error: unknown) => 'retriable' | 'permanent' | undefined;
}

export type Dependencies<D> = D & { close?: () => Promise<void> };

/**
 * A stage of any record and dependency type, for lists of stages. `any` because a handler's record type is
 * contravariant and its dependencies covariant: no other type admits every stage.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type AnyStageDefinition = StageDefinition<any, any>;

export interface StageDefinition<T = unknown, D = unknown> {
  name: string;
  input: string[];
  output: string[];
  setup?: (config: Config, log: Logger) => Promise<Dependencies<D>>;
  /**
   * Returns the batch's outputs, or streams them: an AsyncIterable (an `async function*`) is produced every
   * `config.runtime.streamChunk` records as it yields, and the batch commits once all of it is acknowledged.
   * A stream that throws is retried from the start like a throwing handler, so outputs may repeat.
   */
  handler: (batch: InputRecord<T>[], context: StageContext<D>) => Promise<OutputRecord[]> | AsyncIterable<OutputRecord>;
  errors?: Partial<ErrorPolicy>;
  /**
   * Called each time this member joins its group, with every partition it now holds by logical topic (the
   * retry topic under its own name), before a batch of them is handled: a stage keeping state per partition
   * learns which partitions others may have written meanwhile.
   */
  assigned?: (assignment: Record<string, number[]>, deps: D) => void;
  /** `per-instance`: every process reads every record from the latest offset (broadcast feeds such as the WebSocket gateway). */
  consumerGroup?: 'shared' | 'per-instance';
  /**
   * `background`: bookkeeping off the delivery path (the ack stage). It ranks with the bulk lanes whatever its
   * inputs: inside a process it gives way to stages handling more urgent records, and a process that hosts
   * only such stages runs at a lower CPU priority (run-stages.ts), so recording what happened never takes
   * the CPU from what is happening.
   */
  priority?: 'background';
}

/** How the runtime turns bytes into values and back; the registry-backed serde by default. */
export interface Codec {
  encode(topic: string, value: unknown): Promise<Buffer>;
  decode(buffer: Buffer): Promise<unknown>;
}

/** A long-running component that is not a Kafka stage (the scheduler): `msgxc run <name>` hosts it beside stages. */
export interface Service {
  start(): Promise<void>;
  /** Stops it and releases its connections. */
  close(): Promise<void>;
}

export interface RunOptions {
  codec?: Codec;
  /** Started by name once the stages have joined their groups; closed first when stopping. */
  services?: Record<string, Service>;
  /** Metrics land here; the process-wide registry by default. */
  registry?: Registry;
  log?: Logger;
  /** Another Kafka client behind the stages' record producer (benchmarks compare clients); kafkajs by default. */
  producerTransport?: ProduceTransport;
}

export interface RunningStages {
  /** The stages' names, then the services'. */
  names: string[];
  registry: Registry;
  /** Closes the services, stops fetching, lets in-flight batches finish, produce and commit, leaves the groups, closes dependencies. */
  stop(reason?: string): Promise<void>;
  /** Settles once stopped: 0 after a clean stop, 1 when a consumer crashed for good or the stop timed out. */
  done: Promise<number>;
}
