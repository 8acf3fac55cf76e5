import { randomUUID } from 'node:crypto';
import type { AudienceChange, IngestRequest, IngestRequestInput } from '../../schemas/index.ts';
import type { Config } from '../config/index.ts';
import { ingestLimits, validateRequest } from '../contract/ingest.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { createSerde, type Serde } from '../serde/index.ts';
import { topicName } from '../topics/index.ts';
import { createKafkaPublisher, type KafkaPublisher, type OutgoingRecord } from './publisher.ts';

export { createKafkaPublisher, type KafkaPublisher, type OutgoingRecord } from './publisher.ts';

/**
 * Typed Avro producers for one logical topic, and the one internal services use to send messages
 * without going through HTTP: `createIngestProducer` writes the same `IngestRequest` records the facade
 * writes (Confluent wire format, schema from the registry) straight to the ingest topic.
 */

export interface PreparedRecord extends OutgoingRecord {
  key: string;
}

export interface TopicProducer<T> {
  /** Encodes (and validates) a value; a registry outage fails here, before anything is written. */
  prepare(value: T, key: string, headers?: Record<string, string>): Promise<PreparedRecord>;
  /** Resolves once Kafka acknowledged every record. */
  send(records: PreparedRecord[]): Promise<void>;
  publish(value: T, key: string, headers?: Record<string, string>): Promise<void>;
}

export interface ProducerOptions {
  serde?: Serde;
  publisher?: KafkaPublisher;
  log?: Logger;
}

export function createTopicProducer<T>(
  config: Config,
  logicalTopic: string,
  options: { serde: Serde; publisher: KafkaPublisher },
): TopicProducer<T> {
  const topic = topicName(config, logicalTopic);
  const { serde, publisher } = options;
  const prepare = async (value: T, key: string, headers?: Record<string, string>): Promise<PreparedRecord> => ({
    key,
    value: await serde.encode(logicalTopic, value),
    ...(headers === undefined ? {} : { headers }),
  });
  return {
    prepare,
    send: (records) => publisher.send(topic, records),
    publish: async (value, key, headers) => publisher.send(topic, [await prepare(value, key, headers)]),
  };
}

/** What a service passes: the request without the bookkeeping the producer fills in. */
export type ServiceRequest = Omit<IngestRequestInput, 'requestId' | 'createdAt' | 'sender'> & {
  /** Idempotency key; a random UUID when left out. Repeats within 24 h are dropped by the pipeline. */
  requestId?: string;
};

export interface IngestProducer {
  connect(): Promise<void>;
  /** Sends one request and resolves with its request id once Kafka acknowledged it. */
  send(request: ServiceRequest): Promise<string>;
  /** Sends several requests in one batch; resolves with their request ids in order. */
  sendMany(requests: ServiceRequest[]): Promise<string[]>;
  close(): Promise<void>;
}

export interface IngestProducerOptions extends ProducerOptions {
  /** The service's name: the request's sender id (sender kind `service`). */
  service: string;
  clock?: () => number;
}

export function createIngestProducer(config: Config, options: IngestProducerOptions): IngestProducer {
  const log = options.log ?? createLogger(config, 'ingest-producer');
  const ownsPublisher = options.publisher === undefined;
  const publisher = options.publisher ?? createKafkaPublisher(config, { log });
  const serde = options.serde ?? createSerde(config);
  const producer = createTopicProducer<IngestRequest>(config, 'ingest', { serde, publisher });
  const clock = options.clock ?? Date.now;

  const complete = (request: ServiceRequest): IngestRequest => ({
    requestId: request.requestId ?? randomUUID(),
    kind: request.kind,
    tid: request.tid ?? null,
    uid: request.uid ?? null,
    uids: request.uids ?? null,
    cohort: request.cohort ?? null,
    variant: request.variant ?? null,
    msg: request.msg ?? null,
    subject: request.subject ?? null,
    opts: request.opts ?? null,
    data: request.data ?? null,
    urgency: request.urgency ?? null,
    channels: request.channels ?? null,
    scheduledAt: request.scheduledAt ?? null,
    expiresAt: request.expiresAt ?? null,
    ttlSeconds: request.ttlSeconds ?? null,
    collapseKey: request.collapseKey ?? null,
    experimentId: request.experimentId ?? null,
    sender: { kind: 'service', id: options.service },
    createdAt: clock(),
    trace:
      request.trace === undefined || request.trace === null
        ? null
        : { traceparent: request.trace.traceparent, tracestate: request.trace.tracestate ?? null },
  });

  const limits = ingestLimits(config);
  const sendMany = async (requests: ServiceRequest[]) => {
    const complete_ = requests.map(complete);
    // The schema first (a value of the wrong type is a SCHEMA_VIOLATION), then the contract prioritize
    // applies: a request it would dead-letter is refused here, before anything is sent.
    const records = await Promise.all(complete_.map((request) => producer.prepare(request, request.requestId)));
    for (const request of complete_) validateRequest(request, request.createdAt, limits);
    await producer.send(records);
    return complete_.map((request) => request.requestId);
  };

  return {
    connect: () => publisher.connect(),
    send: async (request) => (await sendMany([request]))[0]!,
    sendMany,
    close: async () => {
      if (ownsPublisher) await publisher.close();
    },
  };
}

export type { AudienceChange, IngestRequest };
