import { randomUUID } from 'node:crypto';
import type { AudienceChange, IngestRequest, IngestRequestInput } from '../../schemas/index.ts';
import type { Config } from '../config/index.ts';
import { ingestLimits, validateRequest } from '../contract/ingest.ts';
import { createRecordProducer, type RecordProducer } from '../kafka/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import type { Serde } from '../serde/index.ts';

/**
 * The producer internal services use to send messages without going through HTTP: it writes the same
 * `IngestRequest` records the facade writes (Confluent wire format, schema from the registry) straight to
 * the ingest topic, through pipeline/kafka's record producer in its `request` profile.
 */

export interface ProducerOptions {
  serde?: Serde;
  /** A record producer to share (the caller closes it); one of the `request` profile otherwise. */
  producer?: RecordProducer;
  log?: Logger;
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
  const ownsProducer = options.producer === undefined;
  const records =
    options.producer ??
    createRecordProducer(config, { profile: 'request', log, ...(options.serde ? { codec: options.serde } : {}) });
  const ingest = records.topic('ingest');
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
    const prepared = await Promise.all(complete_.map((request) => ingest.prepare(request, request.requestId)));
    for (const request of complete_) validateRequest(request, request.createdAt, limits);
    await ingest.send(prepared);
    return complete_.map((request) => request.requestId);
  };

  return {
    connect: () => records.connect(),
    send: async (request) => (await sendMany([request]))[0]!,
    sendMany,
    close: async () => {
      if (ownsProducer) await records.close();
    },
  };
}

export type { AudienceChange, IngestRequest };
