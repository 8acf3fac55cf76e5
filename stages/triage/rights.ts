import { MsgxcError } from '../../pipeline/errors/index.ts';
import type { IngestRequest } from '../../schemas/types.generated.ts';

/**
 * Who may send what. Triage re-checks this even for requests the HTTP facade already checked: a service
 * producing straight to the ingest topic is not trusted blindly, and a thread's rules may have changed since.
 *
 * The seed's rules:
 * - admins and services may send anything (they are trusted principals; the facade only stamps those kinds
 *   from a verified admin/service token);
 * - a user may only publish to a thread, and only when they own it, administer it, are one of its
 *   publishers, or the thread is open for publishing;
 * - send, multicast, broadcast, cohort and split need an admin or a service.
 */

/** The parts of a thread the rights check and the defaults need. */
export interface ThreadRules {
  tid: string;
  owner: string | null;
  admins: readonly string[];
  publishers: readonly string[];
  openPublish: boolean;
}

export const FORBIDDEN = 'FORBIDDEN';
export const UNKNOWN_THREAD = 'UNKNOWN_THREAD';

export function unknownThread(tid: string, requestId: string): MsgxcError {
  return new MsgxcError(UNKNOWN_THREAD, `thread ${tid} does not exist`, {
    retriable: false,
    status: 404,
    details: { tid, requestId },
  });
}

function forbidden(message: string, request: IngestRequest): MsgxcError {
  return new MsgxcError(FORBIDDEN, message, {
    retriable: false,
    status: 403,
    details: { requestId: request.requestId, sender: `${request.sender.kind}:${request.sender.id}` },
  });
}

export function mayPublish(uid: string, thread: ThreadRules): boolean {
  return thread.openPublish || thread.owner === uid || thread.admins.includes(uid) || thread.publishers.includes(uid);
}

/**
 * Throws a permanent FORBIDDEN error when the sender may not make this request. `thread` is the request's
 * thread (null when the request names none; an unknown thread is refused before this check).
 */
export function checkRights(request: IngestRequest, thread: ThreadRules | null): void {
  const { sender } = request;
  if (sender.kind === 'admin' || sender.kind === 'service') return;
  if (request.kind !== 'publish') {
    throw forbidden(`kind ${request.kind} needs an admin or a service; ${sender.id} is a user`, request);
  }
  if (!thread) throw forbidden('a user may only publish to a thread', request);
  if (!mayPublish(sender.id, thread)) {
    throw forbidden(`user ${sender.id} may not publish to thread ${thread.tid}`, request);
  }
}
