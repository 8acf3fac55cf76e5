import { readFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { certificateFile, type Received, type Script } from './common.ts';

/**
 * The server side every local provider fake shares: the loopback certificate for the TLS ones (APNs, FCM,
 * Web Push), a bind to 127.0.0.1 (port 0 = a free one), a close that waits for the server, and the record of
 * what a device-push fake received and refused.
 */

export const tlsOptions = () => ({
  cert: readFileSync(certificateFile),
  key: readFileSync(join(import.meta.dirname, 'certs', 'localhost.key')),
});

/** What a device-push fake received and refused, and the script tests answer through. */
export class ProviderLog {
  readonly received: Received[] = [];
  readonly refused: { at: number; reason: string }[] = [];
  script: Script | undefined;

  refuse(reason: string): void {
    this.refused.push({ at: Date.now(), reason });
  }
}

/**
 * HTTP/2 over TLS with the loopback certificate, advertising `maxConcurrentStreams` as the provider does;
 * `destroySessions` ends the open sessions, which `server.close` would otherwise wait for.
 */
export function secureHttp2Server(options: { maxConcurrentStreams: number; allowHTTP1?: boolean }): {
  server: Http2SecureServer;
  destroySessions(): void;
} {
  const server = createSecureServer({
    ...tlsOptions(),
    ...(options.allowHTTP1 ? { allowHTTP1: true } : {}),
    settings: { maxConcurrentStreams: options.maxConcurrentStreams },
  });
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  return {
    server,
    destroySessions() {
      for (const session of sessions) session.destroy();
    },
  };
}

/** Binds the server to 127.0.0.1 and resolves with its port. */
export async function listenOnLoopback(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Resolves once the server has stopped (its open connections are the caller's to end). */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
