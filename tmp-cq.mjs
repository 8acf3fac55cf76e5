import cassandra from 'cassandra-driver';
const c = new cassandra.Client({ contactPoints: ['127.0.0.1:9042'], localDataCenter: 'datacenter1' });
await c.connect();
const q = async (s) => (await c.execute(s)).rows;
const snap = async () => {
  const out = {};
  for (const t of ['local_read_latency','local_write_latency','local_scan_latency','coordinator_read_latency','coordinator_write_latency','coordinator_scan_latency']) {
    for (const r of await q(`select * from system_views.${t}`)) if (!String(r.keyspace_name).startsWith('system')) out[`${t} ${r.keyspace_name}.${r.table_name}`] = Number(r.count);
  }
  for (const r of await q('select * from system_views.thread_pools')) out[`pool ${r.name}`] = Number(r.completed_tasks);
  return out;
};
import fs from 'node:fs';
const cpu=()=>{const f=fs.readFileSync('/proc/'+fs.readFileSync('.stack/cassandra/server.pid','utf8').trim()+'/stat','utf8').split(')')[1].trim().split(' ');return Number(f[11])+Number(f[12]);};
const c0=cpu(); const a = await snap();
await new Promise(r => setTimeout(r, Number(process.argv[2] ?? 10) * 1000));
const b = await snap(); console.log('cassandra cpu ticks', cpu()-c0);
for (const [k, v] of Object.entries(b)) { const d = v - (a[k] ?? 0); if (d > 0) console.log(d, k); }
await c.shutdown();
