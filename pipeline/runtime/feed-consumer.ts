import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { retryTransient } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { isClusterUnavailable } from './classify.ts';
import { CommitQueue } from './commit-queue.ts';

export interface FeedConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
  tuning: Config['runtime']['consumer'];
  /** At most one offset commit per this many ms (commit-queue.ts). */
  commitIntervalMs: number;
  eachBatch: (payload: EachBatchPayload, commits: CommitQueue) => Promise<void>;
  log: Logger;
  /** Called each time the consumer joins again after a crash kafkajs does not restart. */
  onRejoin: () => void;
  /** Called with this member's whole assignment (Kafka topic → partitions) each time it joins its group. */
  onAssign?: (assignment: Record<string, number[]>) => void;
  /** A crash that is the stage's own problem, not the cluster's: the process ends. */
  onFatal: (error: Error) => void;
  /** The wait before the n-th attempt in a row to join again. */
  rejoinDelayMs?: (attempt: number) => number;
}

const defaultRejoinDelay = (attempt: number) => Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);

/**
 * One consumer group membership of a stage (a feed), kept alive across cluster outages. kafkajs restarts a
 * consumer after a crash it deems retriable; for some crashes a broker restart causes ("Failed to find group
 * coordinator", tulios/kafkajs#1630) it stops for good. Those crashes are the cluster's, not the stage's: a
 * fresh consumer joins the same group after a back-off, and resumes from the group's committed offsets.
 * Any other crash is handed to `onFatal`.
 */
export class FeedConsumer {
  private readonly options: FeedConsumerOptions;
  private consumer: Consumer | undefined;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private joining: Promise<void> | undefined;
  private stopped = false;
  /** Settles the wait of `join` for a first position (see `positioned`). */
  private releasePosition: (() => void) | undefined;
  /** The handled offsets of this membership, committed at most every `commitIntervalMs`. */
  readonly commits: CommitQueue;

  constructor(options: FeedConsumerOptions) {
    this.options = options;
    this.commits = new CommitQueue({
      intervalMs: options.commitIntervalMs,
      commitLater: async (offsets) => {
        // No consumer (crashed, joining again): its next incarnation resumes from the committed offsets.
        await this.consumer?.commitOffsets(offsets);
      },
      log: options.log,
    });
  }

  /**
   * Connects, subscribes and starts consuming; fails when the first connect or subscribe does. A feed that starts
   * at the latest offset resolves only once it holds a position on its partitions (see `positioned`).
   */
  start(): Promise<void> {
    return this.join();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.releasePosition?.();
    await this.joining;
    await this.commits
      .flush()
      .catch((error: unknown) =>
        this.options.log.warn({ err: error }, 'offset commit before leaving the group failed'),
      );
    await this.consumer?.disconnect();
  }

  private async join(): Promise<void> {
    const { topics, fromBeginning, eachBatch, tuning, log } = this.options;
    const consumer = this.create();
    this.consumer = consumer;
    try {
      await consumer.connect();
      // Its retry topic may have been created a moment ago: the metadata can still answer "unknown topic".
      await retryTransient(() => consumer.subscribe({ topics, fromBeginning }));
      const position = fromBeginning ? undefined : this.positioned(consumer);
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently,
        eachBatch: (payload) => eachBatch(payload, this.commits),
      });
      await position;
    } catch (error) {
      this.releasePosition?.();
      if (this.consumer === consumer) this.consumer = undefined;
      await consumer
        .disconnect()
        .catch((failure: unknown) => log.debug({ err: failure }, 'disconnect after a failed join failed'));
      throw error;
    }
  }

  /**
   * kafkajs's `run` returns before the group is joined, and a new group that starts at the latest offset only
   * reads that offset in its first fetch after joining. A per-instance feed (a gateway's deliveries) that
   * reported itself started earlier would miss what was produced in between: a client connected right after
   * start would lose a message. The first completed fetch after a join means every assigned partition has a
   * position. A crash or a stop ends the wait too (the crash has its own handling).
   */
  private positioned(consumer: Consumer): Promise<void> {
    return new Promise<void>((resolve) => {
      let joined = false;
      const removers: Array<() => void> = [];
      const release = () => {
        for (const remove of removers) remove();
        if (this.releasePosition === release) this.releasePosition = undefined;
        resolve();
      };
      this.releasePosition = release;
      removers.push(
        consumer.on(consumer.events.GROUP_JOIN, () => {
          joined = true;
        }),
        consumer.on(consumer.events.FETCH, () => {
          if (joined) release();
        }),
        consumer.on(consumer.events.CRASH, release),
      );
    });
  }

  private create(): Consumer {
    const { kafka, groupId, tuning } = this.options;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatMs,
      maxBytesPerPartition: tuning.maxBytesPerPartition,
      maxBytes: tuning.maxBytes,
      maxWaitTimeInMs: tuning.maxWaitMs,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.attempts = 0;
      this.commits.retain(payload.memberAssignment);
      this.options.onAssign?.(payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (consumer !== this.consumer) return;
      // kafkajs restarts from the committed offsets: what waited for a trailing commit is redone.
      this.commits.clear();
      if (payload.restart || this.stopped) return;
      if (isClusterUnavailable(payload.error)) this.rejoinLater(payload.error);
      else this.options.onFatal(payload.error);
    });
    return consumer;
  }

  /** kafkajs has disconnected the crashed consumer already. */
  private rejoinLater(cause: unknown): void {
    const { log, groupId } = this.options;
    this.consumer = undefined;
    this.attempts++;
    const delayMs = Math.round((this.options.rejoinDelayMs ?? defaultRejoinDelay)(this.attempts));
    log.warn(
      { err: cause, groupId, attempt: this.attempts, delayMs },
      'consumer crashed because the Kafka cluster is unavailable; it will join its group again',
    );
    this.timer = setTimeout(() => {
      this.options.onRejoin();
      this.joining = this.join().then(
        () => log.info({ groupId }, 'consumer joining its group again'),
        (error: unknown) => {
          if (this.stopped) return;
          if (isClusterUnavailable(error)) this.rejoinLater(error);
          else this.options.onFatal(error instanceof Error ? error : new Error(String(error)));
        },
      );
    }, delayMs);
  }
}
