import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeConnections, closedLoop, openLoop, type Target } from './http-load.ts';

let server: Server | undefined;
afterAll(closeConnections);
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server answering each POST after `delayMs`, with `status`; it counts the bodies it read. */
async function serve(delayMs: number, status = 200): Promise<{ target: Target; bodies: string[] }> {
  const bodies: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(body);
      setTimeout(() => res.writeHead(status).end('true'), delayMs);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { target: { port, path: '/p', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }, bodies };
}

describe('the api bench load generator', () => {
  it('keeps as many requests outstanding as workers in a closed loop', async () => {
    const { target, bodies } = await serve(20);
    const result = await closedLoop(target, 4, 0.5);
    // Four workers, 20 ms a request, half a second: about 100 answers, and never more than the loop allows.
    expect(result.completed).toBeGreaterThan(10);
    expect(result.completed).toBeLessThanOrEqual(4 * Math.ceil(0.5 / 0.02) + 4);
    expect(result.failed).toBe(0);
    expect(bodies.every((body) => body === '{"a":1}')).toBe(true);
    expect(Math.min(...result.latencies)).toBeGreaterThanOrEqual(19);
  });

  it('offers a fixed rate in an open loop, and counts a slow answer from when the request was due', async () => {
    const { target } = await serve(30);
    const result = await openLoop(target, 200, 0.5, 4);
    expect(result.completed).toBe(100);
    // Four connections, 30 ms each: at most about 133 answers a second against 200 offered, so requests wait
    // for a connection, and the last ones' latency holds that wait (about 250 ms by the end).
    expect(Math.max(...result.latencies)).toBeGreaterThan(150);
    expect(result.peakOutstanding).toBeGreaterThan(20);
    expect(result.seconds).toBeGreaterThan(0.6);
  });

  it('counts answers other than 200 as failed', async () => {
    const { target } = await serve(0, 503);
    const result = await closedLoop(target, 2, 0.2);
    expect(result.completed).toBe(0);
    expect(result.failed).toBeGreaterThan(0);
  });
});
