import { createServer, Socket } from 'node:net';
import { Client } from 'cassandra-driver';
import { cassandraError } from '../pipeline/cassandra/errors.ts';
const sockets = new Set<Socket>();
const server = createServer((c) => { const u = new Socket(); sockets.add(c); sockets.add(u); u.connect(9042, '127.0.0.1'); c.pipe(u); u.pipe(c); c.on('error',()=>{}); u.on('error',()=>{}); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as any).port;
const client = new Client({ contactPoints: [`127.0.0.1:${port}`], localDataCenter: 'datacenter1', pooling: { warmup: true } });
await client.connect();
const p = client.execute('SELECT * FROM system_schema.columns', [], { isIdempotent: false });
setImmediate(() => { for (const s of sockets) s.destroy(); });
try { await p; console.log('no error'); } catch (e: any) {
  console.log(e.constructor.name, e.message, e.isSocketError, Object.keys(e));
  if (e.innerErrors) for (const [k, v] of Object.entries(e.innerErrors)) console.log(' inner', k, (v as any)?.constructor?.name, (v as any)?.message, (v as any)?.isSocketError);
  const w = cassandraError(e, 'x'); console.log(w.code, w.retriable, w.status);
}
server.close(); await client.shutdown().catch(()=>{}); process.exit(0);
