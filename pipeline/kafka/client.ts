import { connect as connectTcp, isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { type ISocketFactory, Kafka, type KafkaConfig, type LogEntry, logLevel, type ProducerConfig } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { kafkajsPartitioner } from './partition.ts';
import { stopIdleRequestQueuePolling } from './request-queue.ts';

/** kafkajs's log levels as pino's: every Kafka client of the project logs through this one map. */
export const kafkaLogLevels: Readonly<Record<number, 'error' | 'warn' | 'info' | 'debug'>> = {
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
export const noDelaySockets: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : connectTcp({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setNoDelay(true);
  return socket;
};

/** Retries bounded to about 3 s in all, so an outage becomes a prompt error a waiting caller can report. */
export const boundedRetry = { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } as const;

export interface KafkaClientOptions {
  /**
   * For callers that wait on each record (an HTTP request): TCP_NODELAY sockets, short connection and request
   * timeouts and bounded retries, so a Kafka outage is reported within seconds rather than retried for long.
   */
  lowLatency?: boolean;
}

/** kafkajs logs through pino so its lines carry the same structure (and redaction) as ours. */
export function createKafka(
  config: Config,
  log: Logger = createLogger(config, 'kafka'),
  options: KafkaClientOptions = {},
): Kafka {
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  stopIdleRequestQueuePolling();
  const lowLatency: Partial<KafkaConfig> = options.lowLatency
    ? { connectionTimeout: 2000, requestTimeout: 5000, socketFactory: noDelaySockets, retry: boundedRetry }
    : {};
  return new Kafka({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    ...lowLatency,
    logLevel: verbose ? logLevel.INFO : logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: { message, timestamp: _timestamp, logger: _logger, ...fields } }: LogEntry) => {
        log[kafkaLogLevels[level] ?? 'info']({ kafkajs: fields }, message);
      },
  });
}

/**
 * The pipeline's producer settings: acks from all in-sync replicas, idempotent so the producer's own
 * retries cannot duplicate or reorder records (kafkajs serialises requests per broker for that).
 */
export const producerConfig: ProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: kafkajsPartitioner,
};

/**
 * The settings of a producer whose callers wait on each record: not idempotent (kafkajs would retry an
 * idempotent send without end), retries bounded; a repeat a retry produces is harmless because every
 * record such callers write carries an id its consumer de-duplicates on (ingest request ids).
 */
export const requestProducerConfig: ProducerConfig = {
  allowAutoTopicCreation: false,
  createPartitioner: kafkajsPartitioner,
  retry: boundedRetry,
};
