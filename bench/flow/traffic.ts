import type { Admin } from 'kafkajs';
import type { AudienceSnapshot } from '../../pipeline/audience-index/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import type { IngestProducer, ServiceRequest } from '../../pipeline/ingest-producer/index.ts';
import { createKafka, groupLag } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import { fanoutTopicFor } from '../../pipeline/topics/lanes.ts';
import type { System } from '../harness/system.ts';
import { type ServerWarmup, type WarmServersOptions, warmServers } from '../harness/warm-servers.ts';
import { paced } from './latency.ts';

/** The flow bench's traffic besides the measured sends: broadcasts, warm-ups, the probe, the users indexed. */

/** The user whose realtime client receives every message the bench measures. */
export const rtUser = 'bench-rt';

/** Urgent sends at `urgentRate` from the moment the broadcasts are produced until fanout has expanded them. */
export async function duringBroadcast(
  system: System,
  producer: IngestProducer,
  options: { broadcasts: number; urgentRate: number },
  arrivals: Map<string, number>,
  make: (n: number) => { msg: string; send: () => Promise<unknown> },
) {
  const texts = Array.from({ length: options.broadcasts }, (_, i) => `broadcast-${i}`);
  const started = performance.now();
  await producer.sendMany(texts.map((msg) => ({ kind: 'broadcast', msg, urgency: 1 })));
  const drained = fanoutDrained(system, texts, arrivals).then(() => performance.now());
  const urgent = await paced(options.urgentRate, 0, 0, make, arrivals, drained);
  return { urgent, seconds: ((await drained) - started) / 1000 };
}

/** Fanout is done with the broadcasts: the rt user got each (its slice ran) and fanout's group has no lag. */
async function fanoutDrained(system: System, texts: string[], arrivals: Map<string, number>): Promise<void> {
  const admin = lagAdmin(system.config);
  await admin.connect();
  try {
    await laneDrained(admin, system.config, texts, arrivals, 50);
  } finally {
    await admin.disconnect();
  }
}

const lagAdmin = (config: Config) =>
  createKafka(config, createLogger({ ...config, logLevel: 'warn' }, 'bench-lag')).admin();

async function laneDrained(
  admin: Admin,
  config: Config,
  texts: string[],
  arrivals: Map<string, number>,
  pollMs: number,
): Promise<void> {
  // The broadcasts are urgency 1: the bulk fanout lane, whose stage and topic share a name.
  const lane = fanoutTopicFor(1);
  const group = `${config.kafka.topicPrefix}msgxc.${lane}`;
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error('the broadcast did not drain within 10 minutes');
    if (texts.every((text) => arrivals.has(text))) {
      const lag = await groupLag(admin, group, [topicName(config, lane)]);
      if (lag.every((row) => row.lag === 0)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * The pipeline warm-up's traffic: every other send on urgency 4's own path (lane.4, triage.lane4,
 * fanout.urgent, deliver.ws.urgent), so the isolation phase's first messages are not that path's first either.
 */
export function warmupSend(producer: IngestProducer, tag: string) {
  return (n: number) => {
    const msg = `${tag}-${n}`;
    const request: ServiceRequest =
      n % 2 === 0
        ? { kind: 'send', uid: rtUser, msg, urgency: 3 }
        : { kind: 'send', uid: rtUser, msg, urgency: 4, channels: ['ws'] };
    return { msg, send: () => producer.send(request) };
  };
}

/**
 * Warms the servers (harness/warm-servers.ts) with rounds of about 5 s: urgency-1 broadcasts to the users indexed
 * so far, one after another (the bulk lane's paging, inbox writes and delivery batches), with sends at 100/s
 * alongside. One admin client watches the bulk lane's lag for all the rounds.
 */
export async function warmServersWithTraffic(
  system: System,
  producer: IngestProducer,
  arrivals: Map<string, number>,
  options: WarmServersOptions,
): Promise<ServerWarmup> {
  const admin = lagAdmin(system.config);
  await admin.connect();
  try {
    return await warmServers(async (round) => {
      const started = performance.now();
      const broadcasts = (async () => {
        for (let n = 0; performance.now() - started < 5_000; n++) {
          const msg = `warm-broadcast-${round}-${n}`;
          await producer.send({ kind: 'broadcast', msg, urgency: 1 });
          await laneDrained(admin, system.config, [msg], arrivals, 20);
        }
      })();
      await paced(100, 0, 0, warmupSend(producer, `warm-servers-${round}`), arrivals, broadcasts);
      await broadcasts;
    }, options);
  } finally {
    await admin.disconnect();
  }
}

/** Sends to the rt user until one arrives: every stage on the path consumes (a fresh group may still be joining). */
export async function pipelineProbe(producer: IngestProducer, arrivals: Map<string, number>): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (let n = 0; ![...arrivals.keys()].some((text) => text.startsWith('probe-')); n++) {
    if (Date.now() > deadline) throw new Error('no probe came through the pipeline within 3 minutes');
    await producer.send({ kind: 'send', uid: rtUser, msg: `probe-${n}`, urgency: 4, channels: ['ws'] });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** Indexes users `bench-u<from>` … `bench-u<to - 1>` (and the realtime client's user once), then refreshes. */
export async function indexUsers(system: System, from: number, to: number): Promise<number> {
  const started = performance.now();
  const at = Date.now();
  const user = (uid: string): AudienceSnapshot => ({ uid, devices: { ws: true }, channels: [], updatedAt: at });
  if (from === 0) await system.index.upsert(user(rtUser));
  for (let start = from; start < to; start += 2_000) {
    const chunk = Array.from({ length: Math.min(2_000, to - start) }, (_, i) => user(`bench-u${start + i}`));
    await system.index.upsertMany(chunk);
    process.stderr.write(`\rindexed ${start + chunk.length}/${to}`);
  }
  if (to > from) process.stderr.write('\n');
  await system.index.refresh();
  return (performance.now() - started) / 1000;
}
