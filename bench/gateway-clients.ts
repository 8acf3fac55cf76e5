import { WebSocket } from 'ws';
import { signDevelopmentToken } from '../pipeline/auth/sign.ts';

/**
 * The client side of `bench/gateway.ts`, run as a child process so that 10k client sockets and 10k
 * server sockets do not share one file-descriptor limit or one event loop. Opens the connections it is
 * told to, counts message frames and reports the count to the parent over IPC.
 */

interface ConnectCommand {
  type: 'connect';
  url: string;
  secret: string;
  users: string[];
  concurrency: number;
}

const sockets: WebSocket[] = [];
let received = 0;
let reported = -1;

function report(): void {
  if (received !== reported && process.send) {
    reported = received;
    process.send({ type: 'progress', received });
  }
}
setInterval(report, 5);

const token = (uid: string, secret: string) => signDevelopmentToken({ secret, sub: uid, expiresIn: '2h' });

function open(url: string, jwt: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${jwt}` }, perMessageDeflate: false });
    socket.once('error', reject);
    socket.once('open', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    // Frames start with {"type":" (9 bytes): count `message` frames, not the welcome, without parsing.
    socket.on('message', (data: Buffer) => {
      if (data[9] === 0x6d) received++;
    });
  });
}

async function connect(command: ConnectCommand): Promise<void> {
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < command.users.length) {
      const uid = command.users[next++]!;
      try {
        sockets.push(await open(command.url, await token(uid, command.secret)));
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, worker));
  process.send?.({ type: 'connected', count: sockets.length, failures, rss: process.memoryUsage().rss });
}

process.on('message', (message: ConnectCommand | { type: 'exit' }) => {
  if (message.type === 'connect') void connect(message);
  if (message.type === 'exit') {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});
