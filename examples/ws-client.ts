import { WebSocket } from 'ws';

/**
 * A small realtime client for the msgxc WebSocket gateway (protocol: stages/gateway/PROTOCOL.md).
 * Connects with a JWT, live-subscribes to the threads given, prints every message, acknowledges it as
 * delivered, drops repeats by message id and reconnects with back-off, resuming from the last message
 * it received (`?resume=<id>`): the gateway replays what the inbox got meanwhile before live frames.
 *
 *   MSGXC_TOKEN=<jwt> npx node examples/ws-client.ts [ws://127.0.0.1:8090/ws] [tid …]
 *
 * Browsers cannot set the Authorization header; they pass the token as a subprotocol instead:
 *   new WebSocket(url, ['msgxc.v1', `bearer.${jwt}`])
 */

const token = process.env.MSGXC_TOKEN;
const [url = 'ws://127.0.0.1:8090/ws', ...threads] = process.argv.slice(2);
if (!token) {
  console.error('set MSGXC_TOKEN to a JWT (the same token as for the HTTP API)');
  process.exit(2);
}

/** Message ids seen lately: a message can arrive again (a replay, a live subscription plus being addressed). */
const seen = new Set<string>();
const remember = (id: string) => {
  seen.add(id);
  if (seen.size > 1000) seen.delete(seen.values().next().value as string);
};

let attempt = 0;
let stopping = false;
/** The last message id received: a reconnect resumes after it. A real app keeps it in storage. */
let cursor: string | null = null;
let current: WebSocket | undefined;

// One listener for the process, not one per reconnect.
process.once('SIGINT', () => {
  stopping = true;
  if (current && current.readyState !== WebSocket.CLOSED) current.close(1000, 'bye');
  else process.exit(0);
});

function connect(): void {
  const target = cursor === null ? url : `${url}?resume=${encodeURIComponent(cursor)}`;
  const socket = new WebSocket(target, ['msgxc.v1'], { headers: { authorization: `Bearer ${token}` } });
  current = socket;

  socket.on('unexpected-response', (_request, response) => {
    console.error(`upgrade refused: HTTP ${response.statusCode}`);
    // 401: the token is wrong or expired; retrying with the same one will not help.
    if (response.statusCode === 401) process.exit(1);
  });
  socket.on('open', () => {
    attempt = 0;
    for (const tid of threads) socket.send(JSON.stringify({ type: 'subscribe', tid, ref: `sub-${tid}` }));
  });
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    switch (frame.type) {
      case 'welcome':
        // Until a message arrives, a reconnect resumes from where this first session started.
        cursor ??= String(frame.cursor);
        console.log(`connected as ${frame.uid}, session ${frame.session}${cursor ? `, resuming after ${cursor}` : ''}`);
        break;
      case 'resumed':
        console.log(`caught up: ${frame.replayed} missed message(s) replayed`);
        break;
      case 'message': {
        const id = String(frame.id);
        cursor = id;
        if (seen.has(id)) break;
        remember(id);
        console.log(`[${frame.tid ?? '-'}] ${frame.subject ?? ''} ${frame.msg ?? ''}`.trim(), frame.data ?? '');
        socket.send(JSON.stringify({ type: 'ack', messageId: id, status: 'delivered' }));
        break;
      }
      case 'error':
        console.error(`error ${frame.code}: ${frame.message}${frame.ref ? ` (${frame.ref})` : ''}`);
        break;
      default:
        break;
    }
  });
  socket.on('error', (error) => console.error(`socket error: ${error.message}`));
  socket.on('close', (code, reason) => {
    if (stopping) return;
    // 4001: the token expired — a real app fetches a new one before reconnecting.
    if (code === 4001) {
      console.error('token expired');
      process.exit(1);
    }
    const delay = Math.min(30_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
    console.error(`closed (${code} ${reason.toString()}), reconnecting in ${Math.round(delay)} ms`);
    setTimeout(connect, delay);
  });
}

connect();
