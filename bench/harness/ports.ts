import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A free port for a server a test or a bench starts, chosen below the kernel's ephemeral range. A port from
 * `listen(0)` comes from that range, and between closing the probe and the server binding it, an outgoing
 * connection of any process (a Kafka or Cassandra client connecting meanwhile) can take it as its local port:
 * the server then fails with EADDRINUSE, as one CI run did. Ports handed out here are never handed out twice
 * by this process, so ports picked one after another are distinct too.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  const low = Math.max(10_000, high - 12_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux); 32768, the usual value, elsewhere. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 32_768;
    throw error;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
