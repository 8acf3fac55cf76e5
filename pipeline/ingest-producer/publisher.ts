import { connect as connectTcp, isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import {
  type ISocketFactory,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import type { Config } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';

/**
 * A Kafka producer for callers that wait on each record (an HTTP request, a service call) and need a
 * bounded answer: records handed in during one event-loop turn go out together in one `sendBatch`, and
 * while `maxInFlight` batches await their acknowledgement new records queue up and leave together in the
 * next (group commit), so many concurrent callers cost one round trip per batch rather than one each. Every caller's promise settles when Kafka acknowledged (acks=all) or refused its batch.
 *
 * Retries are bounded (about 3 s in all) so a Kafka outage becomes a prompt error the caller can report
 * as 503, instead of an idempotent producer's endless retry. A repeat produced by a retry is harmless:
 * ingest records carry a request id that prioritize de-duplicates on.
 */

export interface OutgoingRecord {
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface KafkaPublisher {
  connect(): Promise<void>;
  /** Resolves once every record is acknowledged by Kafka. `topic` is the real Kafka topic name. */
  send(topic: string, records: OutgoingRecord[]): Promise<void>;
  /** Resolves when a broker answers a metadata request (readiness). */
  probe(): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaPublisherOptions {
  log?: Logger;
  /** Records per sendBatch at most; more wait for the next one. */
  maxBatchRecords?: number;
  /**
   * Batches awaiting Kafka's acknowledgement at once; records arriving meanwhile wait and batch up. One by
   * default: a broker handles one request per connection at a time anyway, and each produce request costs
   * the process far more (encoding per partition, a socket write) than a record added to it, so under load
   * fewer, fuller batches serve more callers (measured in `npm run bench -- api`).
   */
  maxInFlight?: number;
}

interface Pending {
  topic: string;
  records: OutgoingRecord[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

const kafkaLevels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs's own socket factory plus TCP_NODELAY: with Nagle's algorithm on, a produce request written while
 * the previous one is unacknowledged waits in the kernel for the ACK, adding a round trip (or a delayed-ACK
 * timeout) to callers who are waiting on each record. The Java client sets it too.
 */
const noDelaySockets: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : connectTcp({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setNoDelay(true);
  return socket;
};

export function createKafkaPublisher(config: Config, options: KafkaPublisherOptions = {}): KafkaPublisher {
  const log = options.log ?? createLogger(config, 'publisher');
  const maxBatchRecords = options.maxBatchRecords ?? 2000;
  const maxInFlight = options.maxInFlight ?? 1;
  const kafka = new Kafka({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    socketFactory: noDelaySockets,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: { message, timestamp: _t, logger: _l, ...fields } }: LogEntry) =>
        log[kafkaLevels[level] ?? 'info']({ kafkajs: fields }, message),
  });
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  let adminConnected: Promise<void> | null = null;
  let connected: Promise<void> | null = null;
  let closed = false;
  let scheduled = false;
  let inFlight = 0;
  const idle: (() => void)[] = [];
  const queue: Pending[] = [];

  producer.on(producer.events.DISCONNECT, () => {
    connected = null;
  });

  const connect = () => {
    if (connected === null) {
      connected = producer.connect();
      // A failed connect is not cached: the next send tries again.
      connected.catch(() => {
        connected = null;
      });
    }
    return connected;
  };

  const take = (): Pending[] => {
    const batch: Pending[] = [];
    let count = 0;
    while (queue.length > 0 && (batch.length === 0 || count + queue[0]!.records.length <= maxBatchRecords)) {
      const next = queue.shift()!;
      batch.push(next);
      count += next.records.length;
    }
    return batch;
  };

  const toMessages = (batch: Pending[]): TopicMessages[] => {
    const byTopic = new Map<string, TopicMessages>();
    for (const pending of batch) {
      let entry = byTopic.get(pending.topic);
      if (!entry) {
        entry = { topic: pending.topic, messages: [] };
        byTopic.set(pending.topic, entry);
      }
      for (const record of pending.records) {
        entry.messages.push({ key: record.key, value: record.value, headers: record.headers });
      }
    }
    return [...byTopic.values()];
  };

  const sendOne = async (batch: Pending[]): Promise<void> => {
    try {
      await connect();
      await producer.sendBatch({ acks: -1, topicMessages: toMessages(batch) });
      for (const pending of batch) pending.resolve();
    } catch (error) {
      const failure = new MsgxcError('KAFKA_UNAVAILABLE', `Kafka did not acknowledge: ${(error as Error).message}`, {
        retriable: true,
        status: 503,
        cause: error,
      });
      for (const pending of batch) pending.reject(failure);
    }
  };

  /** Sends what is queued, up to `maxInFlight` batches at once; a finished batch lets the next one go. */
  const dispatch = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = take();
      inFlight++;
      void sendOne(batch).finally(() => {
        inFlight--;
        if (queue.length > 0) schedule();
        else if (inFlight === 0) for (const resolve of idle.splice(0)) resolve();
      });
    }
  };

  // Waiting one turn of the event loop lets the records of this tick's other callers join the batch.
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(dispatch);
  };

  return {
    connect: async () => {
      await connect();
    },
    send(topic, records) {
      if (closed) return Promise.reject(new MsgxcError('PUBLISHER_CLOSED', 'the publisher is closed'));
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ topic, records, resolve, reject });
        schedule();
      });
    },
    async probe() {
      adminConnected ??= admin.connect();
      try {
        await adminConnected;
        await admin.describeCluster();
      } catch (error) {
        adminConnected = null;
        await admin.disconnect().catch(() => undefined);
        throw error;
      }
    },
    async close() {
      closed = true;
      if (queue.length > 0 || inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve));
      await producer.disconnect();
      if (adminConnected !== null) await admin.disconnect();
    },
  };
}
