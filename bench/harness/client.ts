import { WebSocket } from 'ws';
import { isInboxCursor } from '../../pipeline/store/inbox.ts';
import type { MessageFrame as ProtocolMessageFrame } from '../../stages/gateway/protocol.ts';

/**
 * A realtime client as an app would write one (protocol: stages/gateway/PROTOCOL.md): it authenticates
 * during the upgrade with the Authorization header, keeps every `message` frame it receives (repeats
 * included, so tests can see them) and, when asked to, reconnects after the gateway goes away — with
 * `resume`, from the last message id it received (`?resume=`), so the gateway replays what it missed.
 */

/** The gateway's `message` frame, plus when this client received it (not part of the protocol). */
export interface MessageFrame extends ProtocolMessageFrame {
  receivedAt: number;
}

export interface Client {
  uid: string;
  /** Every message frame received, in order, across reconnects. */
  messages: MessageFrame[];
  /** Every other frame (welcome, error, pong, …). */
  others: Record<string, unknown>[];
  /** Sessions opened (a `welcome` each). */
  welcomes: number;
  /** The id of the last message frame received: where a resume starts. */
  readonly cursor: string | null;
  send(frame: unknown): void;
  /** Resolves with the first message frame matching `match` (already received or still to come). */
  waitFor(match: (frame: MessageFrame) => boolean, timeoutMs?: number, label?: string): Promise<MessageFrame>;
  /** Resolves once a session is open (after a reconnect: the next one). */
  connected(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function connectClient(
  url: string,
  uid: string,
  token: string,
  options: {
    reconnect?: boolean;
    /** Reconnect with `?resume=<last message id>`; `after` resumes the very first connection too. */
    resume?: boolean;
    after?: string;
    /** The longest back-off between reconnect attempts (2 s by default). */
    maxBackoffMs?: number;
    onMessage?: (frame: MessageFrame) => void;
  } = {},
): Promise<Client> {
  const messages: MessageFrame[] = [];
  const others: Record<string, unknown>[] = [];
  const wakers = new Set<() => void>();
  let socket: WebSocket | undefined;
  let open = false;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let cursor: string | null = options.after ?? null;
  const wake = () => {
    for (const waker of [...wakers]) waker();
  };

  const client: Client = {
    uid,
    messages,
    others,
    welcomes: 0,
    get cursor() {
      return cursor;
    },
    send(frame) {
      if (!socket || !open) throw new Error(`${uid}: not connected`);
      socket.send(JSON.stringify(frame));
    },
    waitFor(match, timeoutMs = 60_000, label = 'a message') {
      return until(() => messages.find(match), timeoutMs, `${uid}: ${label}`);
    },
    connected(timeoutMs = 60_000) {
      return until(() => (open ? true : undefined), timeoutMs, `${uid}: a session`).then(() => undefined);
    },
    async close() {
      closing = true;
      clearTimeout(timer);
      if (socket && socket.readyState !== WebSocket.CLOSED) {
        const closed = new Promise((resolve) => socket?.once('close', resolve));
        socket.close(1000, 'bye');
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
        socket.terminate();
      }
    },
  };

  function until<T>(find: () => T | undefined, timeoutMs: number, label: string): Promise<T> {
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = find();
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const deadline = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(deadline);
        wakers.delete(check);
      };
      wakers.add(check);
    });
  }

  const dial = () =>
    new Promise<void>((resolve, reject) => {
      const target = options.resume && cursor !== null ? `${url}?resume=${cursor}` : url;
      const current = new WebSocket(target, ['msgxc.v1'], { headers: { authorization: `Bearer ${token}` } });
      socket = current;
      current.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        if (frame.type === 'message') {
          const message = { ...(frame as unknown as MessageFrame), receivedAt: Date.now() };
          messages.push(message);
          // Probes put straight onto deliver.ws (readiness.ts) carry random ids no inbox holds.
          if (isInboxCursor(message.id)) cursor = message.id;
          options.onMessage?.(message);
        } else {
          others.push(frame);
          if (frame.type === 'welcome') {
            // Until a message arrives, a reconnect resumes from where the first session started.
            cursor ??= typeof frame.cursor === 'string' ? frame.cursor : null;
            client.welcomes++;
            open = true;
            attempt = 0;
            resolve();
          }
        }
        wake();
      });
      current.on('unexpected-response', (_request, response) => {
        reject(new Error(`${uid}: upgrade refused with HTTP ${response.statusCode}`));
        current.terminate();
      });
      current.on('error', (error) => reject(error));
      current.on('close', () => {
        open = false;
        wake();
        if (closing || !options.reconnect) return;
        // The gateway went away (killed, restarted): come back with a little back-off, as apps do.
        const delay = Math.min(options.maxBackoffMs ?? 2_000, 200 * 2 ** attempt++);
        timer = setTimeout(() => {
          // A refused dial ends in another `close`, which schedules the next try: nothing to handle here.
          dial().catch(() => undefined);
        }, delay);
      });
    });

  try {
    await dial();
  } catch (error) {
    closing = true;
    socket?.terminate();
    throw error;
  }
  return client;
}
