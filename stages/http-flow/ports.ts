import type { Principal, Verifier } from '../../pipeline/auth/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import type { Acknowledgement } from '../../schemas/types.generated.ts';

/**
 * What the flow routes need, in their own words; `deps.ts` builds these from the real stores and a
 * Kafka producer, tests build them the same way against their own keyspace and topic prefix.
 */

/** A stored message as catch-up returns it (the WebSocket `message` frame's fields, plus the sender). */
export interface CatchUpMessage {
  id: string;
  tid: string;
  subject: string | null;
  msg: string | null;
  data: unknown;
  urgency: number;
  sender: { kind: string; id: string } | null;
  /** When the request was created, epoch milliseconds. */
  sentAt: number;
}

/** manage: owner, thread admin, admin or service; read: may read its messages. */
export type ThreadAccess = 'manage' | 'read' | 'forbidden' | 'missing';

export interface FlowRouteDeps {
  verifier: Verifier;
  log: Logger;
  clock: () => number;
  /** Produces acknowledgements to `acks`; resolves once Kafka acknowledged them. */
  sendAcks(acks: Acknowledgement[]): Promise<void>;
  /** Whether the principal may read the thread's messages. */
  threadAccess(principal: Principal, tid: string): Promise<ThreadAccess>;
  readMarkers: {
    /** Moves the marker forward only (a late or repeated write never moves it back). */
    set(uid: string, tid: string, messageId: string, at: number): Promise<void>;
    get(uid: string, tid: string): Promise<string | null>;
  };
  messages: {
    /** Up to `limit` messages after `after` (exclusive), oldest first; the newest `limit` when `after` is null. */
    after(tid: string, after: string | null, limit: number): Promise<CatchUpMessage[]>;
  };
  /** Deadline for one call into a dependency, milliseconds. */
  dependencyTimeoutMs: number;
}
