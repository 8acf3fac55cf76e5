import { randomUUID } from 'node:crypto';
import { type AudienceIndex, type AudienceSnapshot, createAudienceIndex, type Device } from '../pipeline/audience-index/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import type { InputRecord, OutputRecord } from '../pipeline/runtime/types.ts';
import { schemaType } from '../schemas/index.ts';
import type { DeliveryBatch, FanoutJob } from '../schemas/types.generated.ts';
import { audienceSourceOf } from '../stages/fanout/audience.ts';
import { type FanoutDependencies, handleFanout } from '../stages/fanout/handler.ts';
import { fanoutSettings } from '../stages/fanout/index.ts';

/**
 * Broadcast fan-out: index N users through the audience layer, then, in the same run and alternating,
 * (a) page the whole audience through the layer (`everyone`, full documents: what fanout reads — the
 * baseline) and (b) run a broadcast through the fanout handler exactly as the stage would: the first call
 * cuts the audience into slice jobs, then one call per slice job expands it into delivery batches.
 * Recipients/s of (b) against documents/s of (a) is the ratio (goal ≥ 0.7). (c) adds Avro encoding of the
 * handler's outputs (the runtime's next step), for reference. Peak RSS is sampled during each broadcast.
 *
 *   npm run bench -- flow-fanout [users=100000] [rounds=3]
 */

const jobBase: Omit<FanoutJob, 'messageId'> = {
  requestId: 'bench',
  tid: null,
  audience: { kind: 'everyone', tid: null, uids: null, cohort: null, experimentId: null, variant: null },
  urgency: 1,
  plan: 'realtime',
  channels: ['ws', 'apns', 'webpush', 'email'],
  fallbackChannels: null,
  escalateAfterMs: null,
  subject: 'A broadcast',
  msg: 'Something everyone should read',
  opts: null,
  data: '{"url":"/news/1"}',
  collapseKey: null,
  expiresAt: null,
  experiment: null,
  slice: null,
  sender: { kind: 'admin', id: 'bench' },
  createdAt: Date.now(),
  triagedAt: Date.now(),
  trace: null,
};

export async function run(baseConfig: Config, args: string[] = []): Promise<number> {
  const options = Object.fromEntries(args.map((arg) => arg.split('=', 2) as [string, string]));
  const users = Number(options.users ?? 100_000);
  const rounds = Number(options.rounds ?? 3);
  if (!Number.isInteger(users) || users < 1 || !Number.isInteger(rounds) || rounds < 1) {
    console.error('usage: npm run bench -- flow-fanout [users=100000] [rounds=3]');
    return 2;
  }
  const prefix = `msgxc-bench-fanout-${randomUUID().slice(0, 8)}`;
  const config: Config = { ...baseConfig, logLevel: 'warn', search: { ...baseConfig.search, indexPrefix: prefix } };
  const index = createAudienceIndex(config);
  const settings = fanoutSettings(config);
  try {
    await index.ensureIndex();
    const indexSeconds = await load(index, users);
    await index.refresh();
    const deps: FanoutDependencies = { audience: audienceSourceOf(index), settings, now: Date.now };
    await pageAll(index, settings.pageSize); // warm-up: caches, JIT, connections

    let raw = 0;
    let fanout = { recipientsPerSecond: 0, deliveriesPerSecond: 0, peakRss: 0, calls: 0, batches: 0 };
    let encoded = 0;
    const rssBefore = process.memoryUsage.rss();
    for (let round = 0; round < rounds; round++) {
      raw = Math.max(raw, await timed(users, () => pageAll(index, settings.pageSize)).then((t) => t.perSecond));
      const result = await broadcast(deps, users, false);
      if (result.recipientsPerSecond > fanout.recipientsPerSecond) fanout = result;
      fanout.peakRss = Math.max(fanout.peakRss, result.peakRss);
      encoded = Math.max(encoded, (await broadcast(deps, users, true)).recipientsPerSecond);
    }
    const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
    console.log(
      [
        `broadcast fan-out over ${users} users (page ${settings.pageSize}, slices of ${settings.sliceUsers}, best of ${rounds}):`,
        `  indexing through the audience layer:     ${rate(users / indexSeconds)} docs/s`,
        `  baseline: audience paging (everyone):     ${rate(raw)} docs/s`,
        `  fanout handler, broadcast:               ${rate(fanout.recipientsPerSecond)} recipients/s (${rate(fanout.deliveriesPerSecond)} deliveries/s, ${fanout.batches} batches, ${fanout.calls} handler calls)`,
        `  fanout handler + Avro encoding:          ${rate(encoded)} recipients/s`,
        `  ratio fanout / paging:                   ${(fanout.recipientsPerSecond / raw).toFixed(2)} (goal >= 0.7)`,
        `  ratio fanout+encoding / paging:          ${(encoded / raw).toFixed(2)}`,
        `  RSS before the broadcasts ${mb(rssBefore)}, peak during them ${mb(fanout.peakRss)}`,
      ].join('\n'),
    );
    return 0;
  } finally {
    for (const target of await index.adapter.aliasTargets(index.alias)) await index.adapter.deleteIndex(target);
    await index.close();
  }
}

/** One broadcast through the handler as the stage runs it: the slicing call, then one call per slice job. */
async function broadcast(deps: FanoutDependencies, users: number, encode: boolean) {
  const job: FanoutJob = { ...jobBase, messageId: randomUUID() };
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 20);
  const batchType = schemaType('dev.msgxc.DeliveryBatch');
  let recipients = 0;
  let deliveries = 0;
  let batches = 0;
  let calls = 0;
  const started = performance.now();
  try {
    const pending: FanoutJob[] = [job];
    for (let next = pending.shift(); next; next = pending.shift()) {
      calls++;
      const outputs: OutputRecord[] = await handleFanout([input(next)], deps);
      const users = new Set<string>();
      for (const output of outputs) {
        if (output.topic === 'fanout') pending.push(output.value as FanoutJob);
        if (!output.topic.startsWith('deliver.')) continue;
        const batch = output.value as DeliveryBatch;
        batches++;
        deliveries += batch.recipients.length;
        for (const recipient of batch.recipients) users.add(recipient.uid);
        if (encode) batchType.toBuffer(batch);
      }
      recipients += users.size;
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  if (recipients !== users) throw new Error(`the broadcast reached ${recipients} users, expected ${users}`);
  return { recipientsPerSecond: recipients / seconds, deliveriesPerSecond: deliveries / seconds, peakRss, calls, batches };
}

function input(job: FanoutJob): InputRecord<FanoutJob> {
  return { topic: 'fanout', partition: 0, offset: '0', key: job.messageId, value: job, headers: {}, timestamp: Date.now() };
}

async function pageAll(index: AudienceIndex, pageSize: number): Promise<number> {
  let seen = 0;
  for await (const page of index.pages({ kind: 'everyone' }, { pageSize })) seen += page.length;
  return seen;
}

async function timed(expected: number, scan: () => Promise<number>) {
  const started = performance.now();
  const seen = await scan();
  if (seen !== expected) throw new Error(`scan saw ${seen} documents, expected ${expected}`);
  return { perSecond: seen / ((performance.now() - started) / 1000) };
}

async function load(index: AudienceIndex, users: number): Promise<number> {
  const started = performance.now();
  const chunk = 2_000;
  const at = Date.now();
  for (let start = 0; start < users; start += chunk) {
    const snapshots: AudienceSnapshot[] = [];
    for (let i = start; i < Math.min(users, start + chunk); i++) snapshots.push(benchUser(i, at));
    await index.upsertMany(snapshots);
    process.stderr.write(`\rindexed ${Math.min(users, start + chunk)}/${users}`);
  }
  process.stderr.write('\n');
  return (performance.now() - started) / 1000;
}

/** Half iOS, half browsers, one in ten with an e-mail address; everyone subscribed to a couple of threads. */
function benchUser(i: number, at: number): AudienceSnapshot {
  const uid = `bench-${i.toString(36).padStart(6, '0')}`;
  const apns: Device = { channel: 'apns', id: `a${i}`, token: i.toString(16).padStart(64, '0'), subscription: null, address: null, platform: 'ios' };
  const webpush: Device = {
    channel: 'webpush',
    id: `w${i}`,
    token: null,
    subscription: {
      endpoint: `https://fcm.googleapis.com/fcm/send/${uid}`,
      expirationTime: null,
      p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
      auth: 'tBHItJI5svbpez7KI4CCXg',
    },
    address: null,
    platform: 'chrome',
  };
  const email: Device = { channel: 'email', id: `e${i}`, token: null, subscription: null, address: `${uid}@example.com`, platform: null };
  return {
    uid,
    devices: { ...(i % 2 === 0 ? { apns: [apns] } : { webpush: [webpush] }), ...(i % 10 === 0 ? { email: [email] } : {}) },
    tids: [`thread-${i % 50}`, `thread-${i % 7}`],
    cohorts: i % 10 === 0 ? ['vip'] : [],
    channels: [],
    locale: 'en-GB',
    timeZone: 'Europe/London',
    lastSeen: at,
    updatedAt: at,
  };
}

function rate(value: number): string {
  return Math.round(value).toLocaleString('en-GB');
}
