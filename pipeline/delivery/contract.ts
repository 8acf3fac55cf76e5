import type { Channel, DeliveryBatch, Recipient } from '../../schemas/types.generated.ts';

/**
 * The one contract every provider adapter keeps: send one message to a slice of recipients and say, per
 * recipient, what became of it. Adapters translate; the shared policy (retry-after gate, adaptive rate
 * limit, circuit breaker, failover, pruning, outcome events) lives in `pipeline/delivery` and is written once.
 */
export type OutcomeStatus = 'sent' | 'rejected' | 'throttled' | 'failed';

export interface Outcome {
  deliveryId: string;
  status: OutcomeStatus;
  /** The provider's own code: HTTP status, APNs reason, FCM error code, Twilio error code, SMTP reply. */
  providerCode?: string;
  /** The provider's id for the accepted delivery (apns-id, FCM message name, SMS sid, e-mail message id). */
  providerMessageId?: string;
  /** For `throttled` (and `failed` when the provider said so): do not call the provider again before this many ms. */
  retryAfterMs?: number;
  /** For `rejected`: the device/address is dead for good and must be pruned (410, Unregistered, UNREGISTERED). */
  prune?: boolean;
  /** For `rejected` on an address: suppress it (hard bounce, complaint, SMS STOP). */
  suppress?: boolean;
  /**
   * For `prune`: when the provider says the token stopped being valid (APNs 410 `timestamp`), epoch ms. A
   * device registered again after that time is a new registration and is kept.
   */
  invalidSince?: number;
  /** SMS segments billed, for cost. */
  segments?: number;
  /** Human-readable detail, never a secret. */
  detail?: string;
}

/** One message as an adapter sees it: the batch's content with the recipient's variant already applied. */
export interface OutgoingMessage {
  batch: DeliveryBatch;
  recipient: Recipient;
  subject: string | null;
  text: string | null;
  /** Which delivery attempt this is, 0 for the first (counted across trips through the retry topic). */
  attempt: number;
}

export interface ProviderAdapter {
  /** Provider name as it appears in events and metrics: webpush, apns, fcm, twilio, sns, ses, smtp. */
  readonly provider: string;
  readonly channel: Channel;
  /** The most recipients one `send` takes (the provider's batch API size, or its stream concurrency). */
  readonly maxBatch: number;
  /** One outcome per message, in any order, keyed by deliveryId. Throws only for whole-call failures. */
  send(messages: OutgoingMessage[], signal: AbortSignal): Promise<Outcome[]>;
  close(): Promise<void>;
}
