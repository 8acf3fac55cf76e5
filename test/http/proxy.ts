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
}

export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;

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
          client.pipe(upstream);
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
    stop: async () => {
      const closing = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (closing !== null) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}
