import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  type AudienceIndex,
  type AudienceSnapshot,
  createAudienceIndex,
  type Device,
} from '../pipeline/audience-index/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import { jsonCodec } from '../pipeline/runtime/codec.ts';
import { type EncodedOutput, type PendingRecord, processChunk } from '../pipeline/runtime/process.ts';
import type { Codec, InputRecord, OutputRecord } from '../pipeline/runtime/types.ts';
import { topicSpec } from '../pipeline/topics/index.ts';
import { schemaType } from '../schemas/index.ts';
import type { DeliveryBatch, FanoutJob } from '../schemas/types.generated.ts';
import { audienceSourceOf } from '../stages/fanout/audience.ts';
import { type FanoutDependencies, handleFanout } from '../stages/fanout/handler.ts';
import { fanoutSettings } from '../stages/fanout/index.ts';

/**
 * Broadcast fan-out: index N users through the audience layer, then, in the same run and alternating:
 * - baseline: page the whole audience through the layer (`everyone`, full documents: what fanout reads),
 *   and, when the handler slices it, the same audience in those slices;
 * - handler as the stage runs it: the streaming handler driven by the runtime's own chunk processing
 *   (`processChunk`): every output Avro-encoded and flushed in chunks of `streamChunk` records or
 *   `maxProduceBytes`, the flushed chunks dropped where the runtime would produce them to Kafka; slice jobs
 *   it emits (audiences above `sliceUsers`) run as further calls, as the stage would consume them;
 * - the handler's stream alone (no encoding, no chunking), for reference.
 * Recipients (users reached) per second against documents per second is the ratio (goal >= 0.7). Peak
 * RSS and heap are measured in a fresh process per mode, sampled after a full GC.
 *
 *   npm run bench -- flow-fanout [users=100000] [rounds=3] [slice=<sliceUsers>]
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
  if (options.probe) return probe(baseConfig, options.probe, options.index ?? '', users, Number(options.slice));
  const prefix = `msgxc-bench-fanout-${randomUUID().slice(0, 8)}`;
  const config: Config = { ...baseConfig, logLevel: 'warn', search: { ...baseConfig.search, indexPrefix: prefix } };
  const index = createAudienceIndex(config);
  const settings = { ...fanoutSettings(config), ...(options.slice ? { sliceUsers: Number(options.slice) } : {}) };
  try {
    await index.ensureIndex();
    const indexSeconds = await load(index, users);
    await index.refresh();
    const deps: FanoutDependencies = { audience: audienceSourceOf(index), settings, now: Date.now };
    await pageAll(index, settings.pageSize); // warm-up: caches, JIT, connections

    const slices = users > settings.sliceUsers ? Math.min(1_000, Math.ceil(users / settings.sliceUsers)) : 1;
    const runtime = baseConfig.runtime;
    const best = { raw: 0, rawSliced: 0, handler: empty(), stream: empty() };
    for (let round = 0; round < rounds; round++) {
      best.raw = Math.max(best.raw, (await timed(users, () => pageAll(index, settings.pageSize))).perSecond);
      if (slices > 1) {
        best.rawSliced = Math.max(
          best.rawSliced,
          (await timed(users, () => pageSlices(index, settings.pageSize, slices))).perSecond,
        );
      }
      best.handler = better(best.handler, await measure(users, () => asTheStageRunsIt(deps, runtime)));
      best.stream = better(best.stream, await measure(users, () => streamOnly(deps)));
    }
    // Memory in a fresh process per mode: RSS never shrinks back, so a mode measured after another would be billed for it.
    const memory: Record<string, Memory | undefined> = {};
    for (const mode of ['paging', 'handler'])
      memory[mode] = await probeInChild(mode, prefix, users, settings.sliceUsers);
    const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
    const line = (name: string, mode: Mode) =>
      `  ${name} ${rate(mode.perSecond)} recipients/s (${rate(mode.deliveries / mode.seconds)} deliveries/s), ratio ${(mode.perSecond / best.raw).toFixed(2)}`;
    const memoryLine = (name: string, probe: Memory | undefined) =>
      probe
        ? `  ${name} RSS ${mb(probe.startRss)} -> peak ${mb(probe.peakRss)} (+${mb(probe.peakRss - probe.startRss)}), peak live heap ${mb(probe.peakHeap)}`
        : '';
    const sliced =
      slices > 1 ? `${slices} slices of ${settings.sliceUsers}` : `no slices (sliceUsers ${settings.sliceUsers})`;
    console.log(
      [
        `broadcast fan-out over ${users} users, devices on ws + apns|webpush (+ email for 1 in 10), page ${settings.pageSize}, best of ${rounds}:`,
        `  indexing through the audience layer:   ${rate(users / indexSeconds)} docs/s`,
        `  baseline: audience paging (everyone):   ${rate(best.raw)} docs/s`,
        ...(slices > 1 ? [`  baseline: paging in ${slices} slices:          ${rate(best.rawSliced)} docs/s`] : []),
        line(
          `handler as the stage runs it (${sliced}, ${best.handler.calls} calls, ${best.handler.flushes} produce chunks, Avro):`,
          best.handler,
        ),
        line("the handler's stream alone (no encoding, no chunks):", best.stream),
        '  goal: ratio >= 0.7 against the audience paging baseline',
        'memory during one broadcast, a fresh process per mode (live heap: sampled after a full GC every 100 ms):',
        memoryLine('audience paging only:        ', memory.paging),
        memoryLine('handler as the stage runs it:', memory.handler),
      ].join('\n'),
    );
    return 0;
  } finally {
    for (const target of await index.adapter.aliasTargets(index.alias)) await index.adapter.deleteIndex(target);
    await index.close();
  }
}

interface Memory {
  startRss: number;
  peakRss: number;
  peakHeap: number;
}

/** One broadcast of one mode over an existing index, printing its memory as a JSON line (run in a child). */
async function probe(
  baseConfig: Config,
  mode: string,
  prefix: string,
  users: number,
  sliceUsers: number,
): Promise<number> {
  const config: Config = { ...baseConfig, logLevel: 'warn', search: { ...baseConfig.search, indexPrefix: prefix } };
  const index = createAudienceIndex(config);
  const settings = { ...fanoutSettings(config), sliceUsers };
  const deps: FanoutDependencies = { audience: audienceSourceOf(index), settings, now: Date.now };
  try {
    const broadcast =
      mode === 'paging'
        ? async (): Promise<Reach> => ({
            recipients: await pageAll(index, settings.pageSize),
            deliveries: 0,
            calls: 1,
            flushes: 0,
          })
        : () => asTheStageRunsIt(deps, baseConfig.runtime);
    const result = await measure(users, broadcast, true);
    console.log(
      `PROBE ${JSON.stringify({ startRss: result.startRss, peakRss: result.peakRss, peakHeap: result.peakHeap })}`,
    );
    return 0;
  } finally {
    await index.close();
  }
}

async function probeInChild(
  mode: string,
  prefix: string,
  users: number,
  sliceUsers: number,
): Promise<Memory | undefined> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1] ?? 'bench/index.ts',
      'flow-fanout',
      `probe=${mode}`,
      `index=${prefix}`,
      `users=${users}`,
      `slice=${sliceUsers}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = output.split('\n').find((text) => text.startsWith('PROBE '));
  if (code !== 0 || !line) {
    console.error(`memory probe ${mode} failed (exit ${code})`);
    return undefined;
  }
  return JSON.parse(line.slice('PROBE '.length)) as Memory;
}

interface Mode {
  perSecond: number;
  seconds: number;
  deliveries: number;
  calls: number;
  flushes: number;
  startRss: number;
  peakRss: number;
  peakHeap: number;
}

const empty = (): Mode => ({
  perSecond: 0,
  seconds: 0,
  deliveries: 0,
  calls: 0,
  flushes: 0,
  startRss: 0,
  peakRss: 0,
  peakHeap: 0,
});
/** The fastest run's rate, the highest peaks seen in any run. */
const better = (a: Mode, b: Mode): Mode => ({
  ...(b.perSecond > a.perSecond ? b : a),
  peakRss: Math.max(a.peakRss, b.peakRss),
  startRss: a.peakRss > b.peakRss ? a.startRss : b.startRss,
  peakHeap: Math.max(a.peakHeap, b.peakHeap),
});

const gc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

interface Reach {
  recipients: number;
  deliveries: number;
  calls: number;
  flushes: number;
}

/**
 * Times one broadcast and samples memory. With `live`, each sample runs a full GC first, so the heap
 * figure is what the broadcast really holds at that moment rather than garbage not yet collected; that
 * slows the run, so only the memory probes use it.
 */
async function measure(users: number, broadcast: () => Promise<Reach>, live = false): Promise<Mode> {
  gc();
  const startRss = process.memoryUsage.rss();
  let peakRss = startRss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (live) gc();
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  const sampler = setInterval(sample, live ? 100 : 20);
  const started = performance.now();
  let reach: Reach;
  try {
    reach = await broadcast();
    sample();
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  if (reach.recipients !== users) throw new Error(`the broadcast reached ${reach.recipients} users, expected ${users}`);
  return {
    perSecond: reach.recipients / seconds,
    seconds,
    deliveries: reach.deliveries,
    calls: reach.calls,
    flushes: reach.flushes,
    startRss,
    peakRss,
    peakHeap,
  };
}

const broadcastJob = (): FanoutJob => ({ ...jobBase, messageId: randomUUID() });

/** Avro as the stage's serde writes it (without the registry's 5-byte header); jobs come in as JSON. */
const avroCodec: Codec = {
  async encode(topic, value) {
    return schemaType(topicSpec(topic).schema ?? '').toBuffer(value);
  },
  decode: jsonCodec.decode,
};

const outputTopics = new Set([
  'fanout',
  'events',
  ...['ws', 'webpush', 'apns', 'fcm', 'sms', 'email'].map((c) => `deliver.${c}`),
]);

/**
 * One broadcast through the streaming handler and the runtime's chunk processing, as the stage runs it but
 * for Kafka: each flushed chunk is dropped where it would be produced. Slice jobs it emits run as further calls.
 */
async function asTheStageRunsIt(deps: FanoutDependencies, runtime: Config['runtime']): Promise<Reach> {
  const reach: Reach = { recipients: 0, deliveries: 0, calls: 0, flushes: 0 };
  const users = new Set<string>();
  const pending: FanoutJob[] = [broadcastJob()];
  const flush = async (_outputs: EncodedOutput[]) => {
    reach.flushes++;
  };
  for (let next = pending.shift(); next; next = pending.shift()) {
    reach.calls++;
    // Counts what the handler yields on its way to the runtime; slice jobs are taken before encoding.
    const observed = async function* (records: InputRecord[]): AsyncGenerator<OutputRecord> {
      for await (const output of handleFanout(records as InputRecord<FanoutJob>[], deps)) {
        if (output.topic === 'fanout') pending.push(output.value as FanoutJob);
        else if (output.topic.startsWith('deliver.')) count(output.value as DeliveryBatch, reach, users);
        yield output;
      }
    };
    const result = await processChunk([pendingRecord(next)], {
      policy: { attempts: 1, baseMs: 1, maxMs: 1, delayedAttempts: 0, delayedBaseMs: 1, delayedMaxMs: 1 },
      codec: avroCodec,
      outputTopics,
      maxOutputBytes: runtime.maxProduceBytes,
      streamChunk: runtime.streamChunk,
      handler: observed,
      flush,
      wait: async () => undefined,
    });
    const failure = result.failed[0];
    if (failure) throw new Error(`the handler failed: ${failure.failure.code} ${failure.failure.message}`);
    if (result.outputs.length > 0) reach.flushes++; // the tail leaves with the chunk's result
  }
  reach.recipients = users.size;
  return reach;
}

/** The handler's stream taken one output at a time and dropped: no encoding, no chunks. */
async function streamOnly(deps: FanoutDependencies): Promise<Reach> {
  const reach: Reach = { recipients: 0, deliveries: 0, calls: 0, flushes: 0 };
  const users = new Set<string>();
  const pending: FanoutJob[] = [broadcastJob()];
  for (let next = pending.shift(); next; next = pending.shift()) {
    reach.calls++;
    for await (const output of handleFanout([input(next)], deps)) {
      if (output.topic === 'fanout') pending.push(output.value as FanoutJob);
      else if (output.topic.startsWith('deliver.')) count(output.value as DeliveryBatch, reach, users);
    }
  }
  reach.recipients = users.size;
  return reach;
}

function count(batch: DeliveryBatch, reach: Reach, users: Set<string>): void {
  reach.deliveries += batch.recipients.length;
  for (const recipient of batch.recipients) users.add(recipient.uid);
}

function pendingRecord(job: FanoutJob): PendingRecord {
  const offset = '0';
  return {
    message: {
      key: Buffer.from(job.messageId),
      value: Buffer.from(JSON.stringify(job)),
      timestamp: String(Date.now()),
      attributes: 0,
      offset,
      headers: {},
    },
    topic: 'fanout',
    source: { topic: 'msgxc.fanout', partition: 0, offset },
    priorAttempts: 0,
  };
}

function input(job: FanoutJob): InputRecord<FanoutJob> {
  return {
    topic: 'fanout',
    partition: 0,
    offset: '0',
    key: job.messageId,
    value: job,
    headers: {},
    timestamp: Date.now(),
  };
}

async function pageAll(index: AudienceIndex, pageSize: number): Promise<number> {
  let seen = 0;
  for await (const page of index.pages({ kind: 'everyone' }, { pageSize })) seen += page.length;
  return seen;
}

async function pageSlices(index: AudienceIndex, pageSize: number, max: number): Promise<number> {
  let seen = 0;
  for (let id = 0; id < max; id++) {
    const slice = max > 1 ? { id, max } : null;
    for await (const page of index.pages({ kind: 'everyone' }, { pageSize, slice, excludeOptedOut: true }))
      seen += page.length;
  }
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
  const apns: Device = {
    channel: 'apns',
    id: `a${i}`,
    token: i.toString(16).padStart(64, '0'),
    subscription: null,
    address: null,
    platform: 'ios',
  };
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
  const email: Device = {
    channel: 'email',
    id: `e${i}`,
    token: null,
    subscription: null,
    address: `${uid}@example.com`,
    platform: null,
  };
  return {
    uid,
    devices: {
      ...(i % 2 === 0 ? { apns: [apns] } : { webpush: [webpush] }),
      ...(i % 10 === 0 ? { email: [email] } : {}),
    },
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
