import { createVerifier, type Principal, type Verifier } from '../../pipeline/auth/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { createLogger, type Logger } from '../../pipeline/log/index.ts';
import { createMessageStore } from '../../pipeline/store/message.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { createEmitter } from '../ack/emitter.ts';
import type { CatchUpMessage, FlowRouteDeps, ThreadAccess } from './ports.ts';

/**
 * The flow routes' dependencies from the real parts: the message and thread stores over one Cassandra
 * client, and a producer for `acks`. `close` releases both.
 */
export function createFlowRouteDeps(
  config: Config,
  options: { verifier?: Verifier; log?: Logger; dependencyTimeoutMs?: number } = {},
): FlowRouteDeps & { close(): Promise<void> } {
  const log = options.log ?? createLogger(config, 'http-flow');
  const cassandra = createCassandra(config);
  const messages = createMessageStore(cassandra);
  const threads = createThreadStore(cassandra);
  const emitter = createEmitter(config, log);

  return {
    verifier: options.verifier ?? createVerifier(config),
    log,
    clock: Date.now,
    dependencyTimeoutMs: options.dependencyTimeoutMs ?? 5_000,
    sendAcks: (acks) => emitter.emit(acks.map((ack) => ({ topic: 'acks', key: ack.messageId, value: ack }))),
    async threadAccess(principal: Principal, tid: string): Promise<ThreadAccess> {
      const thread = await threads.getThread(tid);
      if (!thread) return 'missing';
      const manages =
        principal.admin || principal.service || thread.owner === principal.uid || thread.admins.includes(principal.uid);
      if (manages) return 'manage';
      // The same people who may take part in the thread: subscribers, publishers, and anyone when it is open.
      if (thread.openSubscribe || thread.openPublish || thread.publishers.includes(principal.uid)) return 'read';
      return (await threads.isSubscribed(tid, principal.uid)) ? 'read' : 'forbidden';
    },
    readMarkers: {
      set: (uid, tid, messageId, at) => messages.setReadMarker(uid, tid, messageId, new Date(at)),
      get: async (uid, tid) => (await messages.readMarker(uid, tid))?.messageId ?? null,
    },
    messages: {
      async after(tid, after, limit) {
        return (await messages.messagesAfter(tid, after, limit)).map(
          (message): CatchUpMessage => ({
            id: message.messageId,
            tid,
            subject: message.subject,
            msg: message.msg,
            data: parseJson(message.data),
            urgency: message.urgency,
            sender: message.sender,
            sentAt: message.createdAt,
          }),
        );
      },
    },
    async close() {
      await Promise.allSettled([emitter.close(), cassandra.shutdown()]);
    },
  };
}

/** `data` is stored as a JSON string; clients get JSON (or the string when it is not JSON), like the gateway's frames. */
function parseJson(data: string | null): unknown {
  if (data === null) return null;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
