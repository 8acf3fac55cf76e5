import type { Verifier } from '../../pipeline/auth/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { Registry } from '../../pipeline/metrics/index.ts';
import type { EndpointGuard } from '../../pipeline/net/ssrf.ts';
import type { CancelPrincipal, CancelResult } from '../../pipeline/schedule/cancel.ts';
import type { MessageStore } from '../../pipeline/store/message.ts';
import type { ThreadStore } from '../../pipeline/store/thread.ts';
import type { UserStore } from '../../pipeline/store/user.ts';
import type { Acknowledgement, AudienceChangeInput, IngestRequestInput } from '../../schemas/index.ts';
import type { RateLimits } from './middleware/rate-limit.ts';
import type { InboxPort } from './routes/inbox.ts';
import type { ProviderRouteDeps } from './routes/providers.ts';

/**
 * What the facade needs from the rest of the system, in the facade's own words. `deps.ts` builds these
 * from the real Cassandra stores, serde and Kafka producer; tests build the app with the same real ones
 * (pointed at their own keyspace and topic prefix). Keeping the shapes here means a route never imports
 * a driver.
 */

/** The thread store's calls the facade makes (the real `createThreadStore` satisfies it). */
export type ThreadsPort = Pick<
  ThreadStore,
  'getThread' | 'createThread' | 'updateThread' | 'isSubscribed' | 'subscribe' | 'unsubscribe'
>;

/** The user store's calls the facade makes (the real `createUserStore` satisfies it). */
export type UsersPort = Pick<
  UserStore,
  'devicesOf' | 'enlistDevice' | 'removeDevice' | 'preferencesOf' | 'setPreferences'
>;

/** The message store's calls the facade makes: delivery summaries and states, read markers and catch-up. */
export type MessagesPort = Pick<
  MessageStore,
  'getMessage' | 'deliverySummary' | 'deliveryOf' | 'setReadMarker' | 'readMarker' | 'messagesAfter'
>;

/** The scheduler's cancel API (`createCanceller` in stages/scheduler satisfies it). */
export interface ScheduledPort {
  /** Throws 404 SCHEDULED_NOT_FOUND, 403 FORBIDDEN or 409 SCHEDULED_TOO_LATE as MsgxcErrors. */
  cancelScheduled(requestId: string, principal: CancelPrincipal): Promise<CancelResult>;
}

export interface StoredAnswer {
  status: number;
  body: string;
}

export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'done'; answer: StoredAnswer }
  | { state: 'pending' }
  | { state: 'mismatch' };

export interface IdempotencyPort {
  /** Atomically claims `key` for a request with this fingerprint, or reports what holds it. */
  claim(scope: string, key: string, fingerprint: string): Promise<IdempotencyClaim>;
  /** Stores the answer for the idempotency window. */
  complete(scope: string, key: string, fingerprint: string, answer: StoredAnswer): Promise<void>;
  /** Frees a claim whose request failed, so the client may try again with the same key. */
  release(scope: string, key: string): Promise<void>;
}

/** A record encoded for its topic and ready to send; encoding first means a registry outage fails before any write. */
export interface PreparedRecord {
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface TopicPublisher<T> {
  prepare(value: T, key: string, headers?: Record<string, string>): Promise<PreparedRecord>;
  /** Resolves once Kafka acknowledged every record. */
  send(records: PreparedRecord[]): Promise<void>;
}

export type Probe = () => Promise<void>;

export interface AppDeps {
  log: Logger;
  verifier: Verifier;
  threads: ThreadsPort;
  users: UsersPort;
  messages: MessagesPort;
  /** The per-user inbox (routes/inbox.ts); its routes answer 503 without it. */
  inbox?: InboxPort;
  idempotency: IdempotencyPort;
  ingest: TopicPublisher<IngestRequestInput>;
  audience: TopicPublisher<AudienceChangeInput>;
  /** Acknowledgements (receipts, read) to the `acks` topic, for the ack stage. */
  acks: TopicPublisher<Acknowledgement>;
  scheduled: ScheduledPort;
  /** Readiness checks by dependency name (kafka, registry, cassandra). */
  probes: Record<string, Probe>;
  endpointGuard: EndpointGuard;
  registry: Registry;
  clock: () => number;
  /** Provider callbacks and one-click unsubscribe (routes/providers.ts); those routes exist only when set. */
  providers?: ProviderRouteDeps;
  limits: {
    bodyLimitBytes: number;
    messageMaxBytes: number;
    /** Deadline for one call into a dependency. */
    dependencyTimeoutMs: number;
    /** How far in the past a request's timestamps may lie. */
    timestampPastMs: number;
    /** How far ahead of this server's clock a client's "it happened at" may be. */
    clockSkewMs: number;
    /** How long an ack waits for the delivery record it refers to before answering 409. */
    ackDeliveryWaitMs: number;
    /** Per-user, per-token and per-thread rate limits (stages/http/middleware/rate-limit.ts). */
    rate: RateLimits;
  };
}
