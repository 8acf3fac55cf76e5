import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from './server.ts';

/**
 * What every local provider server shares: a plain HTTP server on 127.0.0.1 (port 0 = a free one), the
 * request body read whole, and a close that also drops keep-alive sockets.
 */

export interface ProviderServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  close(): Promise<void>;
}

export type RequestHandler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => unknown;

export async function listen(handler: RequestHandler, port = 0): Promise<ProviderServer & { server: Server }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      Promise.resolve(handler(request, Buffer.concat(chunks), response)).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`fake provider failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
  });
  server.keepAliveTimeout = 30_000;
  const bound = await listenOnLoopback(server, port);
  return {
    server,
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () => {
      const closing = closeServer(server);
      server.closeAllConnections();
      return closing;
    },
  };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
) {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

/** A token bucket for the fakes' own send-rate limits: `take()` is false once the second's quota is spent. */
export function rateGate(perSecond: number, now = () => Date.now()) {
  let tokens = perSecond;
  let at = now();
  return {
    take(): boolean {
      const current = now();
      tokens = Math.min(perSecond, tokens + ((current - at) / 1000) * perSecond);
      at = current;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
