import { randomUUID } from 'node:crypto';
import {
  type AudienceIndex,
  type AudienceSnapshot,
  createAudienceIndex,
  type Device,
} from '../pipeline/audience-index/index.ts';
import { createCassandra, migrate } from '../pipeline/cassandra/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { createInboxStore, type InboxEntry } from '../pipeline/store/inbox.ts';
import type { BroadcastEntry } from '../pipeline/store/inbox-broadcasts.ts';
import { audienceSourceOf } from '../stages/fanout/audience.ts';
import type { FanoutDependencies } from '../stages/fanout/handler.ts';
import { fanoutSettings } from '../stages/fanout/index.ts';
import { benchUser, loadUsers, pageAll, rate, timedScan } from './audience-users.ts';
import { asTheStageRunsIt, streamOnly } from './fanout/broadcast.ts';
import { better, empty, type Memory, type Mode, measure } from './fanout/measure.ts';
import { probe, probeInChild } from './fanout/probe.ts';
import { describeWarmup, settledJit, warmServers } from './harness/warm-servers.ts';
import { reportFigure } from './results.ts';

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
 * Unless `inbox=false`, the handler also runs with the inbox written to Cassandra (a keyspace of the bench's own,
 * migrated) as the stage does it — a broadcast once, not a row per recipient: its cost beside the same run's figures.
 *
 *   npm run bench -- flow-fanout [users=100000] [rounds=3] [slice=<sliceUsers>] [inbox=false]
 */

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
  const inbox = options.inbox === 'false' ? undefined : await benchInbox(config, prefix);
  const settings = { ...fanoutSettings(config), ...(options.slice ? { sliceUsers: Number(options.slice) } : {}) };
  try {
    await index.ensureIndex();
    const indexSeconds = await loadUsers(index, users, fanoutUser);
    await index.refresh();
    const deps: FanoutDependencies = { audience: audienceSourceOf(index), settings, now: Date.now };
    // Every mode once per round, unmeasured, until the engine has compiled their paths (this process's own
    // hot paths are compiled by then too): harness/warm-servers.ts.
    const warmup = await warmServers(
      async () => {
        await pageAll(index, settings.pageSize);
        await asTheStageRunsIt(deps, baseConfig.runtime);
        if (inbox) {
          await asTheStageRunsIt(
            { ...deps, recordInbox: inbox.record, recordBroadcast: inbox.broadcast },
            baseConfig.runtime,
          );
        }
      },
      { maxSeconds: 60, settledJitCores: settledJit },
    );
    console.log(describeWarmup(warmup, settledJit));

    const slices = users > settings.sliceUsers ? Math.min(1_000, Math.ceil(users / settings.sliceUsers)) : 1;
    const runtime = baseConfig.runtime;
    const best = { raw: 0, rawSliced: 0, handler: empty(), stream: empty(), inbox: empty() };
    for (let round = 0; round < rounds; round++) {
      best.raw = Math.max(best.raw, await timedScan(users, () => pageAll(index, settings.pageSize)));
      if (slices > 1) {
        best.rawSliced = Math.max(
          best.rawSliced,
          await timedScan(users, () => pageSlices(index, settings.pageSize, slices)),
        );
      }
      best.handler = better(best.handler, await measure(users, () => asTheStageRunsIt(deps, runtime)));
      best.stream = better(best.stream, await measure(users, () => streamOnly(deps)));
      if (inbox) {
        const withInbox = { ...deps, recordInbox: inbox.record, recordBroadcast: inbox.broadcast };
        best.inbox = better(best.inbox, await measure(users, () => asTheStageRunsIt(withInbox, runtime)));
      }
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
        ...(inbox
          ? [
              line('handler as the stage runs it, the inbox written to Cassandra:', best.inbox),
              `    its one inbox write per broadcast: ${describeWrites(inbox.broadcastWrites)}`,
            ]
          : []),
        '  goal: ratio >= 0.7 against the audience paging baseline',
        'memory during one broadcast, a fresh process per mode (live heap: sampled after a full GC every 100 ms):',
        memoryLine('audience paging only:        ', memory.paging),
        memoryLine('handler as the stage runs it:', memory.handler),
      ].join('\n'),
    );
    const figure = (name: string, mode: Mode) =>
      reportFigure({
        bench: 'flow-fanout',
        figure: `${name}, ${users.toLocaleString('en-GB')} users`,
        value: Math.round(mode.perSecond),
        unit: 'recipients/s',
        baseline: { name: 'audience paging', value: Math.round(best.raw), unit: 'docs/s' },
        ratio: mode.perSecond / best.raw,
        goal: '≥ 0.7',
        met: mode.perSecond / best.raw >= 0.7,
      });
    figure('broadcast fan-out, handler as the stage runs it', best.handler);
    if (inbox) figure('broadcast fan-out with the inbox written (once per broadcast)', best.inbox);
    return 0;
  } finally {
    for (const target of await index.adapter.aliasTargets(index.alias)) await index.adapter.deleteIndex(target);
    await index.close();
    await inbox?.drop();
  }
}

/** The inbox store on a migrated keyspace of the bench's own; `drop` removes the keyspace. */
async function benchInbox(baseConfig: Config, prefix: string) {
  const keyspace = prefix.replaceAll('-', '_');
  const config: Config = { ...baseConfig, cassandra: { ...baseConfig.cassandra, keyspace } };
  await migrate(config, { log: createLogger(config, 'bench') });
  const client = createCassandra(config);
  await client.connect();
  const store = createInboxStore(client);
  // The one write a broadcast waits for before its first batch: a slow one shows in the inbox row alone.
  const broadcastWrites: number[] = [];
  return {
    broadcastWrites,
    record: (entries: InboxEntry[]) => store.write(entries),
    async broadcast(entry: BroadcastEntry) {
      const started = performance.now();
      await store.writeBroadcast(entry);
      broadcastWrites.push(performance.now() - started);
    },
    async drop() {
      // A busy node takes its time over a schema change: longer than a query's timeout.
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 120_000 });
      await client.shutdown();
    },
  };
}

function describeWrites(milliseconds: number[]): string {
  const sorted = milliseconds.toSorted((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `median ${median.toFixed(1)} ms, slowest ${(sorted.at(-1) ?? 0).toFixed(1)} ms, over ${sorted.length} broadcasts`;
}

/** The bench audience, one in ten with an e-mail address too. */
function fanoutUser(i: number, at: number): AudienceSnapshot {
  const user = benchUser(i, at);
  if (i % 10 !== 0) return user;
  const email: Device = {
    channel: 'email',
    id: `e${i}`,
    token: null,
    subscription: null,
    address: `${user.uid}@example.com`,
    platform: null,
  };
  return { ...user, devices: { ...user.devices, email: [email] } };
}

async function pageSlices(index: AudienceIndex, pageSize: number, max: number): Promise<number> {
  let seen = 0;
  for (let id = 0; id < max; id++) {
    const slice = max > 1 ? { id, max } : null;
    for await (const page of index.pages(
      { kind: 'everyone' },
      { pageSize, slice, excludeOptedOut: true, sealed: true },
    ))
      seen += page.length;
  }
  return seen;
}
