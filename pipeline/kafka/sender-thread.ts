import { Worker } from 'node:worker_threads';
import type { Config } from '../config/index.ts';
import type { ProduceTransport } from './producer.ts';
import { packTopicMessages } from './wire.ts';

/**
 * A produce transport whose Kafka client runs on a thread of its own, as the Java client's sender thread does:
 * the calling thread packs each produce call into one transferred buffer (wire.ts) and waits for the answer;
 * encoding the request, the socket and the response are the sender's. Behind the facade that takes the
 * client's share of a publish off the thread that parses and answers HTTP (pipeline/kafka/README.md).
 *
 * The thread starts on `connect` and ends on `disconnect` or when it fails; a send in flight then fails
 * with the reason, and the next `connect` starts another. It holds the process open only while a call waits.
 */

export type SenderClient = 'kafkajs' | 'platformatic';

export interface SenderData {
  config: Config;
  client: SenderClient;
}

export type SenderRequest =
  | { op: 'connect'; id: number }
  | { op: 'send'; id: number; packed: ArrayBuffer }
  | { op: 'disconnect'; id: number };

export interface SentError {
  name: string;
  message: string;
  retriable: boolean;
}

export type SenderReply = { id: number; error?: SentError } | { event: 'disconnect' };

interface Waiting {
  resolve(): void;
  reject(error: Error): void;
}

/** The client's error as the sender thread reported it: its name, message and retriability. */
const errorOf = (sent: SentError): Error => Object.assign(new Error(sent.message), sent);

export function senderThreadTransport(config: Config, client: SenderClient = 'kafkajs'): ProduceTransport {
  const disconnectListeners: (() => void)[] = [];
  const waiting = new Map<number, Waiting>();
  let worker: Worker | null = null;
  let nextId = 1;

  const settleAll = (error: Error) => {
    const failed = [...waiting.values()];
    waiting.clear();
    for (const call of failed) call.reject(error);
  };
  const lost = (gone: Worker, reason: string) => {
    if (worker !== gone) return;
    worker = null;
    settleAll(new Error(`the Kafka sender thread stopped: ${reason}`));
    for (const listener of disconnectListeners) listener();
  };
  const start = () => {
    const data: SenderData = { config, client };
    const started = new Worker(new URL('./sender-worker.ts', import.meta.url), { workerData: data });
    started.unref();
    started.on('message', (reply: SenderReply) => {
      if ('event' in reply) {
        for (const listener of disconnectListeners) listener();
        return;
      }
      const call = waiting.get(reply.id);
      if (call === undefined) return;
      waiting.delete(reply.id);
      if (waiting.size === 0) started.unref();
      if (reply.error === undefined) call.resolve();
      else call.reject(errorOf(reply.error));
    });
    started.on('error', (error) => lost(started, error.message));
    started.on('exit', (code) => lost(started, `exit code ${code}`));
    return started;
  };
  const call = (request: SenderRequest, transfer: ArrayBuffer[] = []) =>
    new Promise<void>((resolve, reject) => {
      worker ??= start();
      if (waiting.size === 0) worker.ref();
      waiting.set(request.id, { resolve, reject });
      worker.postMessage(request, transfer);
    });

  return {
    connect: () => call({ op: 'connect', id: nextId++ }),
    send: (topicMessages) => {
      const packed = packTopicMessages(topicMessages);
      return call({ op: 'send', id: nextId++, packed }, [packed]);
    },
    async disconnect() {
      const current = worker;
      if (current === null) return;
      try {
        await call({ op: 'disconnect', id: nextId++ });
      } finally {
        worker = null;
        await current.terminate();
      }
    },
    onDisconnect(listener) {
      disconnectListeners.push(listener);
    },
  };
}
