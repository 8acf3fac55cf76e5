import type { Connection } from './connection.ts';
import { WrittenMessages } from './recent.ts';

export { Connection } from './connection.ts';

/**
 * The per-process index of open sockets: by user (every connection of a uid gets each copy) and by
 * thread (live subscriptions). Deliveries for uids absent here belong to another gateway instance.
 * The connection owns its set of threads; the registry keeps the reverse index in step with it.
 */
export class ConnectionRegistry {
  /** Which of these connections each recent message was written to (recent.ts). */
  readonly written = new WrittenMessages();
  readonly #connections = new Set<Connection>();
  readonly #users = new Map<string, Set<Connection>>();
  readonly #threads = new Map<string, Set<Connection>>();

  add(connection: Connection): void {
    this.#connections.add(connection);
    addTo(this.#users, connection.uid, connection);
  }

  remove(connection: Connection): void {
    if (!this.#connections.delete(connection)) return;
    removeFrom(this.#users, connection.uid, connection);
    for (const tid of connection.dropThreads()) removeFrom(this.#threads, tid, connection);
    connection.forgetSent();
  }

  subscribe(connection: Connection, tid: string): void {
    if (!this.#connections.has(connection)) return;
    connection.addThread(tid);
    addTo(this.#threads, tid, connection);
  }

  unsubscribe(connection: Connection, tid: string): void {
    connection.removeThread(tid);
    removeFrom(this.#threads, tid, connection);
  }

  byUid(uid: string): ReadonlySet<Connection> | undefined {
    return this.#users.get(uid);
  }

  byThread(tid: string): ReadonlySet<Connection> | undefined {
    return this.#threads.get(tid);
  }

  all(): IterableIterator<Connection> {
    return this.#connections.values();
  }

  get size(): number {
    return this.#connections.size;
  }

  get users(): number {
    return this.#users.size;
  }
}

export function createConnectionRegistry(): ConnectionRegistry {
  return new ConnectionRegistry();
}

function addTo(index: Map<string, Set<Connection>>, key: string, connection: Connection) {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(connection);
}

function removeFrom(index: Map<string, Set<Connection>>, key: string, connection: Connection) {
  const set = index.get(key);
  if (!set) return;
  set.delete(connection);
  if (set.size === 0) index.delete(key);
}
