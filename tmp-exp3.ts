import { randomBytes } from 'node:crypto';
import { parseConfig } from './pipeline/config/index.ts';
import { ensureTopics } from './pipeline/topics/index.ts';
import { createKafkaPublisher } from './pipeline/ingest-producer/index.ts';
import { topicName } from './pipeline/topics/index.ts';
const s = randomBytes(3).toString('hex');
const config = parseConfig({ ...process.env, MSGXC_TOPIC_PREFIX: `exp-${s}.`, MSGXC_LOG_LEVEL: 'warn' });
await ensureTopics(config, ['ingest']);
const publisher = createKafkaPublisher(config);
await publisher.connect();
const topic = topicName(config, 'ingest');
const value = Buffer.alloc(200, 1);
for (const rate of [500, 1500]) {
  const lat: number[] = []; const st = performance.now(); const n = rate * 8; const pend: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = st + (i * 1000) / rate; const w = due - performance.now();
    if (w > 1) await new Promise((r) => setTimeout(r, w));
    pend.push(publisher.send(topic, [{ key: `k${i}`, value }]).then(() => { lat.push(performance.now() - due); }));
  }
  await Promise.all(pend); lat.sort((a, b) => a - b);
  console.log('rate', rate, 'p50', lat[Math.floor(lat.length / 2)]!.toFixed(2), 'p99', lat[Math.floor(lat.length * 0.99)]!.toFixed(2), 'max', lat.at(-1)!.toFixed(1));
}
await publisher.close();
