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
import type { InputRecord, OutputRecord } from '../pipeline/runtime/types.ts';
import { schemaType } from '../schemas/index.ts';
import type { DeliveryBatch, FanoutJob } from '../schemas/types.generated.ts';
import { audienceSourceOf } from '../stages/fanout/audience.ts';
import { expandJob } from '../stages/fanout/expand.ts';
import { type FanoutDependencies, handleFanout } from '../stages/fanout/handler.ts';
import { fanoutSettings } from '../stages/fanout/index.ts';

/**
 * Broadcast fan-out: index N users through the audience layer, then, in the same run and alternating:
 * - baseline: page the whole audience through the layer (`everyone`, full documents: what fanout reads),
 *   and the same audience in the slices the handler cuts it into;
 * - handler: a broadcast through the fanout handler exactly as the stage runs it today: the first call
 *   cuts the audience into slice jobs, then one call per slice returns that slice's batches (the runtime
 *   produces a handler's outputs only when it returns, so a call holds its slice's batches in memory);
 * - streamed: the same expansion consumed as it is produced (one job, no slices): what the stage would
 *   run if the runtime produced an AsyncIterable of outputs in chunks (the hook proposed in the report);
 * - handler + Avro encoding of every batch, for reference.
 * Recipients (users reached) per second against documents per second is the ratio (goal >= 0.7). Peak
 * RSS and heap are sampled during each mode after a full GC, so one mode's garbage is not billed to the next.
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
  if (options.probe) return probe(baseConfig, options.probe, options.index ?? '', users);
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

    const slices = Math.ceil(users / settings.sliceUsers);
    const best = { raw: 0, rawSliced: 0, handler: empty(), streamed: empty(), encoded: empty() };
    for (let round = 0; round < rounds; round++) {
      best.raw = Math.max(best.raw, (await timed(users, () => pageAll(index, settings.pageSize))).perSecond);
      best.rawSliced = Math.max(
        best.rawSliced,
        (await timed(users, () => pageSlices(index, settings.pageSize, slices))).perSecond,
      );
      best.streamed = better(best.streamed, await measure(users, () => streamed(deps)));
      best.handler = better(best.handler, await measure(users, () => throughHandler(deps, false)));
      best.encoded = better(best.encoded, await measure(users, () => throughHandler(deps, true)));
    }
    // Memory in a fresh process per mode: RSS never shrinks back, so a mode measured after another would be billed for it.
    const memory: Record<string, Memory | undefined> = {};
    for (const mode of ['paging', 'handler', 'handler-unsliced', 'streamed'])
      memory[mode] = await probeInChild(mode, prefix, users);
    const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
    const line = (name: string, mode: Mode) =>
      `  ${name} ${rate(mode.perSecond)} recipients/s (${rate(mode.deliveries / mode.seconds)} deliveries/s), ratio ${(mode.perSecond / best.raw).toFixed(2)}`;
    const memoryLine = (name: string, probe: Memory | undefined) =>
      probe
        ? `  ${name} RSS ${mb(probe.startRss)} -> peak ${mb(probe.peakRss)} (+${mb(probe.peakRss - probe.startRss)}), peak live heap ${mb(probe.peakHeap)}`
        : '';
    console.log(
      [
        `broadcast fan-out over ${users} users, devices on ws + apns|webpush (+ email for 1 in 10), page ${settings.pageSize}, best of ${rounds}:`,
        `  indexing through the audience layer:   ${rate(users / indexSeconds)} docs/s`,
        `  baseline: audience paging (everyone):   ${rate(best.raw)} docs/s`,
        `  baseline: paging in ${slices} slices:          ${rate(best.rawSliced)} docs/s`,
        line(
          `handler as the stage runs it (${slices} slices of ${settings.sliceUsers}, ${best.handler.calls} calls):`,
          best.handler,
        ),
        line('expansion streamed (one job, no slices):', best.streamed),
        line('handler + Avro encoding:', best.encoded),
        '  goal: ratio >= 0.7 against the audience paging baseline',
        'memory during one broadcast, a fresh process per mode (live heap: sampled after a full GC every 100 ms):',
        memoryLine('audience paging only:   ', memory.paging),
        memoryLine('handler (today):        ', memory.handler),
        memoryLine('handler, no slices:     ', memory['handler-unsliced']),
        memoryLine('expansion streamed:     ', memory.streamed),
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
async function probe(baseConfig: Config, mode: string, prefix: string, users: number): Promise<number> {
  const config: Config = { ...baseConfig, logLevel: 'warn', search: { ...baseConfig.search, indexPrefix: prefix } };
  const index = createAudienceIndex(config);
  const settings = fanoutSettings(config);
  const deps: FanoutDependencies = { audience: audienceSourceOf(index), settings, now: Date.now };
  try {
    const broadcast =
      mode === 'paging'
        ? async (): Promise<Reach> => ({ recipients: await pageAll(index, settings.pageSize), deliveries: 0, calls: 1 })
        : mode === 'handler'
          ? () => throughHandler(deps, false)
          : mode === 'handler-unsliced'
            ? () => throughHandler({ ...deps, settings: { ...settings, sliceUsers: users, callUsers: users } }, false)
            : () => streamed(deps);
    const result = await measure(users, broadcast, true);
    console.log(
      `PROBE ${JSON.stringify({ startRss: result.startRss, peakRss: result.peakRss, peakHeap: result.peakHeap })}`,
    );
    return 0;
  } finally {
    await index.close();
  }
}

async function probeInChild(mode: string, prefix: string, users: number): Promise<Memory | undefined> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1] ?? 'bench/index.ts',
      'flow-fanout',
      `probe=${mode}`,
      `index=${prefix}`,
      `users=${users}`,
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
  startRss: number;
  peakRss: number;
  peakHeap: number;
}

const empty = (): Mode => ({ perSecond: 0, seconds: 0, deliveries: 0, calls: 0, startRss: 0, peakRss: 0, peakHeap: 0 });
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
    startRss,
    peakRss,
    peakHeap,
  };
}

const broadcastJob = (): FanoutJob => ({ ...jobBase, messageId: randomUUID() });

/** One broadcast through the handler as the stage runs it: the slicing call, then one call per slice job. */
async function throughHandler(deps: FanoutDependencies, encode: boolean): Promise<Reach> {
  const batchType = schemaType('dev.msgxc.DeliveryBatch');
  const reach: Reach = { recipients: 0, deliveries: 0, calls: 0 };
  const pending: FanoutJob[] = [broadcastJob()];
  for (let next = pending.shift(); next; next = pending.shift()) {
    reach.calls++;
    const outputs: OutputRecord[] = await handleFanout([input(next)], deps);
    reach.recipients += countDeliveries(outputs, reach, (output) => {
      if (output.topic === 'fanout') pending.push(output.value as FanoutJob);
      else if (encode && output.topic.startsWith('deliver.')) batchType.toBuffer(output.value);
    });
  }
  return reach;
}

/** The expansion's outputs taken one by one and dropped, as a streaming runtime would produce them. */
async function streamed(deps: FanoutDependencies): Promise<Reach> {
  const reach: Reach = { recipients: 0, deliveries: 0, calls: 1 };
  const users = new Set<string>();
  const run = expandJob(broadcastJob(), deps);
  for (let step = await run.next(); !step.done; step = await run.next()) {
    if (!step.value.topic.startsWith('deliver.')) continue;
    const batch = step.value.value as DeliveryBatch;
    reach.deliveries += batch.recipients.length;
    for (const recipient of batch.recipients) users.add(recipient.uid);
  }
  reach.recipients = users.size;
  return reach;
}

/** Users reached by a call's batches (a user's deliveries may sit in several batches); counts deliveries too. */
function countDeliveries(outputs: OutputRecord[], reach: Reach, each: (output: OutputRecord) => void): number {
  const users = new Set<string>();
  for (const output of outputs) {
    each(output);
    if (!output.topic.startsWith('deliver.')) continue;
    const batch = output.value as DeliveryBatch;
    reach.deliveries += batch.recipients.length;
    for (const recipient of batch.recipients) users.add(recipient.uid);
  }
  return users.size;
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
