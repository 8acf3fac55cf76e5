import type { WebSocket } from 'ws';

/** What the gateway knows about one open socket. */
export interface Connection {
  readonly sessionId: string;
  readonly uid: string;
  readonly admin: boolean;
  readonly socket: WebSocket;
  readonly connectedAt: number;
  /** The upgrade's User-Agent, truncated; recorded on check-ins. */
  readonly userAgent: string | null;
  /** Token expiry in epoch ms (the JWT's `exp`), or null when the token has none. */
  readonly expiresAt: number | null;
  /** Live thread subscriptions made over this socket. */
  readonly threads: Set<string>;
  /** Recently sent message ids (bounded, insertion-ordered) → what an ack for them should carry. */
  readonly recent: Map<string, SentMessage>;
  /** Cleared on each heartbeat ping, set again by the pong. */
  alive: boolean;
  /** Timestamps of recent invalid frames, for the garbage limit. */
  invalidFrames: number[];
  /** The gateway has started closing it: no more deliveries; terminated at the next heartbeat. */
  closing: boolean;
  /** Set when the gateway decides to close the socket, so the disconnect check-in says why. */
  closeReason: string | null;
  /** Frames whose handling awaits a lookup or the sink; bounded per connection. */
  pending: number;
}

/** Shared by every socket a batch reaches (one object per batch and path), so remembering costs a map entry. */
export interface SentMessage {
  tid: string | null;
  /** True when the user was a recipient of the batch; false for a live thread subscription's copy. */
  addressed: boolean;
}

/** Small on purpose: 10k sockets × this many entries is the price of dropping repeats and enriching acks. */
export const recentCapacity = 64;

/** Remembers a sent message id; the oldest id drops out past `recentCapacity`. */
export function rememberSent(connection: Connection, messageId: string, sent: SentMessage): void {
  connection.recent.set(messageId, sent);
  if (connection.recent.size > recentCapacity) {
    const oldest = connection.recent.keys().next();
    if (!oldest.done) connection.recent.delete(oldest.value);
  }
}

/**
 * The per-process index of open sockets: by user (every connection of a uid gets each copy) and by
 * thread (live subscriptions). Deliveries for uids absent here belong to another gateway instance.
 */
export interface ConnectionRegistry {
  add(connection: Connection): void;
  remove(connection: Connection): void;
  subscribe(connection: Connection, tid: string): void;
  unsubscribe(connection: Connection, tid: string): void;
  byUid(uid: string): ReadonlySet<Connection> | undefined;
  byThread(tid: string): ReadonlySet<Connection> | undefined;
  all(): IterableIterator<Connection>;
  readonly size: number;
  readonly users: number;
}

export function createConnectionRegistry(): ConnectionRegistry {
  const connections = new Set<Connection>();
  const users = new Map<string, Set<Connection>>();
  const threads = new Map<string, Set<Connection>>();

  const addTo = (index: Map<string, Set<Connection>>, key: string, connection: Connection) => {
    let set = index.get(key);
    if (!set) {
      set = new Set();
      index.set(key, set);
    }
    set.add(connection);
  };
  const removeFrom = (index: Map<string, Set<Connection>>, key: string, connection: Connection) => {
    const set = index.get(key);
    if (!set) return;
    set.delete(connection);
    if (set.size === 0) index.delete(key);
  };

  return {
    add(connection) {
      connections.add(connection);
      addTo(users, connection.uid, connection);
    },
    remove(connection) {
      if (!connections.delete(connection)) return;
      removeFrom(users, connection.uid, connection);
      for (const tid of connection.threads) removeFrom(threads, tid, connection);
      connection.threads.clear();
    },
    subscribe(connection, tid) {
      if (!connections.has(connection)) return;
      connection.threads.add(tid);
      addTo(threads, tid, connection);
    },
    unsubscribe(connection, tid) {
      connection.threads.delete(tid);
      removeFrom(threads, tid, connection);
    },
    byUid: (uid) => users.get(uid),
    byThread: (tid) => threads.get(tid),
    all: () => connections.values(),
    get size() {
      return connections.size;
    },
    get users() {
      return users.size;
    },
  };
}
