import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy the outage tests own: the facade reaches a shared server (Cassandra, the registry) through
 * it, and stopping the proxy makes that server unreachable for this facade only — the shared servers
 * keep running for everyone else. `start()` again listens on the same port, so clients recover.
 */
export interface TcpProxy {
  port: number;
  start(): Promise<void>;
  /** Refuses new connections and cuts the open ones. */
  stop(): Promise<void>;
  /**
   * Stops passing the client's bytes on (the connections stay open), so requests hang; resolves once a
   * chunk for which `matches` holds was held back — a request is then in flight.
   */
  stall(matches?: (chunk: Buffer) => boolean): Promise<void>;
  /** Cuts the open connections with whatever is in flight, and passes bytes on again; still listening. */
  cut(): void;
}

export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  let stalled: { matches: (chunk: Buffer) => boolean; seen: () => void } | null = null;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const created = createServer((client) => {
        const upstream = new Socket();
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        upstream.connect(target.port, target.host, () => {
          client.on('data', (chunk: Buffer) => {
            if (stalled === null) upstream.write(chunk);
            else if (stalled.matches(chunk)) stalled.seen();
          });
          upstream.pipe(client);
        });
      });
      created.once('error', reject);
      created.listen(port, '127.0.0.1', () => {
        port = (created.address() as { port: number }).port;
        server = created;
        resolve();
      });
    });

  await listen();
  return {
    get port() {
      return port;
    },
    start: () => (server === null ? listen() : Promise.resolve()),
    stall: (matches = () => true) =>
      new Promise<void>((resolve) => {
        stalled = { matches, seen: resolve };
      }),
    cut: () => {
      stalled = null;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    stop: async () => {
      const closing = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (closing !== null) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}
