import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Config } from '../pipeline/config/index.ts';
import { createIngestProducer, type ServiceRequest } from '../pipeline/ingest-producer/index.ts';
import { hops } from './flow/hops.ts';
import { type Latencies, line, measuredPhase, paced, timelineOf } from './flow/latency.ts';
import { rawLatency } from './flow/raw.ts';
import {
  duringBroadcast,
  indexUsers,
  pipelineProbe,
  rtUser,
  warmServersWithTraffic,
  warmupSend,
} from './flow/traffic.ts';
import { tokenFor } from './harness/api.ts';
import { type Client, connectClient, type MessageFrame } from './harness/client.ts';
import { describeCpuPhase, startCpuPhase } from './harness/cpu-shares.ts';
import { describeGcPauses, startGcPhase } from './harness/gc-pauses.ts';
import { type MsgxcProcess, type SpawnOptions, spawnMsgxc } from './harness/processes.ts';
import { gatewayReady } from './harness/readiness.ts';
import { createSystem, pipelineStages, prepare, type System } from './harness/system.ts';
import { describeWarmup, settledJit } from './harness/warm-servers.ts';
import { reportFigure } from './results.ts';

/** Every msgxc process in a session of its own, as services under a process manager run (harness/processes.ts). */
const productionSessions: SpawnOptions = { ownSession: true };

/**
 * The whole flow, measured against raw Kafka in the same run. msgxc runs as production runs it (the
 * e2e harness: `msgxc run <pipeline stages>` and `msgxc run gateway` as child processes on a topic prefix,
 * keyspace and index of their own); this process is the service producing requests and the ws client.
 *
 * 1. latency: IngestRequests (`send` to one user, urgency 3) produced with the typed ingest producer at a
 *    fixed rate → the WebSocket client; against raw kafkajs produce → consume of one topic at the same rate,
 *    measured before and again after the first phase, the lower p99 of the two being the baseline (a stall
 *    during one raw measurement would otherwise loosen the goal; until 2026-11-30 it was measured once).
 *    Both include the producer's acknowledgement round trip (acks = all). Measured twice, in the two situations
 *    issue 12 sets goals for: with `baseUsers` (2,000) users indexed, goal p99 ≤ raw p99 + 30 ms; and right
 *    after the other `users` were indexed, while the engine still refreshes and merges, goal ≤ raw + 60 ms.
 * 2. urgency isolation: urgency-4 `send`s (channel ws) at a fixed rate with nothing else queued, then while
 *    an urgency-1 broadcast to `users` indexed users (ws-reachable) drains through triage, fanout and the gateway,
 *    then with nothing queued again; the quiet baseline is the lower p99 of the two quiet windows (until
 *    2026-11-30 the one before, right after indexing, whose stalls could make the ratio look good), each
 *    `urgentSeconds` long (30 s, 600 samples; 10 s until 2026-12-01, when the denominator's noise, 14–24 ms,
 *    decided the ratio more than the broadcast did).
 *    `users` is 1,000,000 by default, as issue 12 asks (about 6 minutes a run; `users=100000` for a quick one).
 * Broadcast fan-out against raw paging is `npm run bench -- flow-fanout`; 10k connections on one gateway
 * is `npm run bench -- gateway` (run them with `include=fanout,gateway`).
 *
 * Before anything is measured, the servers are warmed: broadcasts to the `baseUsers` one after another, with
 * sends at 100/s alongside, unmeasured, until the servers' JIT compilers together use less than
 * `serverWarmupJit` % of a core over 5 s (at most `serverWarmup` seconds; harness/warm-servers.ts). Then
 * `pipelineWarmup` seconds of the latency traffic go through the pipeline unmeasured, every other request on
 * urgency 4's own path, so no figure includes the processes' first messages after start. That was the
 * "cause not found" of the first latency phase coming out worse than the second (2026-11-30): the servers
 * were still compiling. On a freshly started stack (2026-12-01), without the servers' warm-up, the 2,000-user
 * p99 was 74 and 77 ms over raw and the first 10 s of the 1M-user broadcast gave an urgent p99 of 122 and
 * 79 ms; with it, +11 ms and 29 ms. `serverWarmup=0` measures cold servers.
 *
 * The pipeline stages run one per process (`split=1`, as production runs them: the OS schedules them, and a
 * process of bulk lanes only runs at a lower priority) or all in one (`split=0`: the in-process urgency gate).
 * Every msgxc process runs in a session of its own, as under a process manager: on Linux with autogroup a
 * session is one scheduling group, and stage processes left in this process's session shared one group's CPU
 * (until 2026-11-30; the isolation ratio was 2.55× at the median of `bench all` then).
 *
 *   npm run bench -- flow [rate=20] [seconds=20] [warmup=3] [serverWarmup=180] [serverWarmupJit=3] [pipelineWarmup=15]
 *                         [users=1000000] [baseUsers=2000] [urgentRate=20] [urgentSeconds=30] [broadcasts=1] [split=1]
 *                         [include=fanout,gateway]
 */

const defaults = {
  rate: 20,
  seconds: 20,
  warmup: 3,
  /**
   * At most this many seconds of broadcasts to the `baseUsers` with sends alongside, unmeasured, until the
   * servers' JIT compilers settle (below `serverWarmupJit` % of a core over 5 s); 0 measures cold servers.
   */
  serverWarmup: 180,
  /** Percent of a core: the servers' compiler threads together below it over 5 s count as warm. */
  serverWarmupJit: settledJit * 100,
  /** Seconds of the latency traffic sent through the freshly started pipeline, unmeasured, before anything is measured. */
  pipelineWarmup: 15,
  users: 1_000_000,
  /** Users indexed for the first latency figure; the rest are indexed just before the second. */
  baseUsers: 2_000,
  urgentRate: 20,
  /**
   * Each quiet window's length. At 20/s, 10 s gave 200 samples, whose p99 is their third-highest: the same
   * system gave 14–24 ms from one window to the next (2026-12-01), while the busy window holds 1,500–2,000.
   */
  urgentSeconds: 30,
  broadcasts: 1,
  /** 1: every pipeline stage in a process of its own, as production runs them; 0: all of them in one. */
  split: 1,
};
type Options = typeof defaults & { include: string[] };

export async function run(base: Config, args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) {
    console.error(
      `usage: npm run bench -- flow ${Object.keys(defaults)
        .map((key) => `[${key}=N]`)
        .join(' ')} [include=…]`,
    );
    return 2;
  }
  const system = await createSystem(
    {
      // The production defaults (or what the environment says), not the e2e tests' short timeouts.
      MSGXC_RUNTIME_MAX_WAIT_MS: String(base.runtime.consumer.maxWaitMs),
      MSGXC_RUNTIME_SESSION_TIMEOUT_MS: String(base.runtime.consumer.sessionTimeoutMs),
      MSGXC_RUNTIME_HEARTBEAT_MS: String(base.runtime.consumer.heartbeatMs),
    },
    productionSessions,
  );
  const producer = createIngestProducer(system.config, { service: 'bench' });
  let client: Client | undefined;
  const stageProcesses: MsgxcProcess[] = [];
  try {
    await prepare(system);
    const baseUsers = Math.min(options.baseUsers, options.users);
    await indexUsers(system, 0, baseUsers);
    await Promise.all([system.start('gateway'), startStages(system, options.split === 1, stageProcesses)]);
    const arrivals = new Map<string, number>();
    client = await connectClient(system.wsUrl, rtUser, await tokenFor(rtUser), {
      onMessage: (frame: MessageFrame) => arrivals.set(frame.msg ?? '', performance.now()),
    });
    await gatewayReady(system, client);
    const ws = client;
    await producer.connect();
    await pipelineProbe(producer, arrivals);
    // Servers that have just started compile the paths each new kind of traffic takes, and run it slower
    // meanwhile (harness/warm-servers.ts). Measuring them then would time the JVMs' start, not msgxc: the
    // deployment's servers run warm. The warm-up's own outcome is printed, so a cold server is never hidden.
    if (options.serverWarmup > 0) {
      const settledJitCores = options.serverWarmupJit / 100;
      const warmup = await warmServersWithTraffic(system, producer, arrivals, {
        maxSeconds: options.serverWarmup,
        settledJitCores,
        onWindow: (seconds, jit) =>
          process.stderr.write(
            `\rwarming the servers: ${seconds.toFixed(0)} s, JIT ${jit.map((server) => `${server.name} ${(server.cores * 100).toFixed(0)} %`).join(', ')}   `,
          ),
      });
      process.stderr.write('\n');
      console.log(`\n${describeWarmup(warmup, settledJitCores)}`);
    }
    // Freshly started processes compile their hot paths and fill their caches on their first messages: the
    // same traffic, unmeasured, so the figures are the warm system's (a deployment runs warm).
    if (options.pipelineWarmup > 0) {
      await paced(options.rate, options.pipelineWarmup, 0, warmupSend(producer, 'warm'), arrivals);
    }

    const layout = options.split === 1 ? `${stageProcesses.length} stage processes` : 'the stages in one process';
    console.log(
      `\nflow bench — ${options.rate}/s for ${options.seconds} s (+${options.warmup} s warm-up), ${layout}, ${cpus().length} cores`,
    );
    // What the deployment costs with no traffic at all (consumers polling, timers, the servers' own work): on a
    // small machine that is CPU the traffic's phases below do not have.
    const rest = startCpuPhase();
    const restGc = startGcPhase();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const restCpu = rest();
    console.log('  at rest, no traffic:');
    console.log(describeCpuPhase(restCpu, '    '));
    console.log(describeGcPauses(restGc(), restCpu.seconds, '    '));
    const rawBefore = await measuredPhase('raw kafkajs produce → consume', () =>
      rawLatency(system.config, options, 'before'),
    );
    const latency = async (tag: string, label: string) => {
      const measured = await measuredPhase(label, () =>
        paced(
          options.rate,
          options.seconds,
          options.warmup,
          (n) => {
            const msg = `${tag}-${n}`;
            return { msg, send: () => producer.send({ kind: 'send', uid: rtUser, msg, urgency: 3 }) };
          },
          arrivals,
        ),
      );
      await hops(
        system.config,
        ws.messages.filter((frame) => frame.msg?.startsWith(`${tag}-`)),
        'lane.3',
      );
      return measured;
    };
    const settled = await latency('lat', `ingest → WebSocket, ${baseUsers.toLocaleString('en-GB')} users`);
    // A stall of the machine during the raw measurement (a few in ten runs: p99 40 ms instead of 6) would loosen
    // the goal: raw is measured again right after, and the better of the two is the baseline.
    const rawAfter = await measuredPhase('raw kafkajs produce → consume, again', () =>
      rawLatency(system.config, options, 'after'),
    );
    const raw = rawAfter.p99 < rawBefore.p99 ? rawAfter : rawBefore;
    console.log(`  raw baseline: the lower p99 of the two, ${raw.p99.toFixed(1)} ms`);
    const reportLatency = (measured: Latencies, situation: string, allowanceMs: number) => {
      const slack = measured.p99 - raw.p99;
      reportFigure({
        bench: 'flow',
        figure: `ingest → WebSocket p99 at ${options.rate}/s, ${situation}, ${layout}`,
        value: measured.p99,
        unit: 'ms',
        baseline: { name: 'raw kafkajs produce → consume p99', value: raw.p99, unit: 'ms' },
        ratio: slack,
        goal: `≤ raw + ${allowanceMs} ms (ratio = difference in ms)`,
        met: slack <= allowanceMs && measured.lost === 0,
      });
      console.log(
        `  p99 difference ${slack.toFixed(1)} ms (goal ≤ ${allowanceMs} ms: ${slack <= allowanceMs ? 'met' : 'NOT met'}); ` +
          `p50 ratio ${(measured.p50 / raw.p50).toFixed(1)}×`,
      );
    };
    reportLatency(settled, `${baseUsers.toLocaleString('en-GB')} users indexed`, 30);

    // The issue's second situation: the index has just taken a large write (refreshing, merging segments).
    const indexSeconds = await indexUsers(system, baseUsers, options.users);
    if (options.users > baseUsers) {
      const label = `right after indexing ${options.users.toLocaleString('en-GB')}`;
      const fresh = await latency('fresh', `ingest → WebSocket, ${label}`);
      reportLatency(fresh, `${label} users`, 60);
    }

    const urgent = (tag: string) => (n: number) => {
      const msg = `u4-${tag}-${n}`;
      const request: ServiceRequest = { kind: 'send', uid: rtUser, msg, urgency: 4, channels: ['ws'] };
      return { msg, send: () => producer.send(request) };
    };
    const quietCpu = startCpuPhase();
    const quietGc = startGcPhase();
    const quiet = await paced(options.urgentRate, options.urgentSeconds, 1, urgent('quiet'), arrivals);
    const quietPhase = quietCpu();
    const quietPauses = quietGc();
    const drainCpu = startCpuPhase();
    const drainGc = startGcPhase();
    const drain = await duringBroadcast(system, producer, options, arrivals, urgent('busy'));
    const drainPhase = drainCpu();
    const drainPauses = drainGc();
    // Nothing queued again, once fanout has expanded the broadcast: the quiet baseline right after indexing 1M
    // users was as noisy as the busy figure on a slow machine (255 ms quiet against 164 busy on 2026-11-30, a
    // ratio of 0.64× that said nothing). The lower p99 of the two quiet windows is the baseline, which only
    // ever makes the goal stricter.
    const afterCpu = startCpuPhase();
    const afterGc = startGcPhase();
    const quietAfter = await paced(options.urgentRate, options.urgentSeconds, 1, urgent('after'), arrivals);
    const afterPhase = afterCpu();
    const afterPauses = afterGc();
    const baseline = quietAfter.p99 < quiet.p99 ? quietAfter : quiet;
    console.log(
      `\nurgency isolation — ${options.users.toLocaleString('en-GB')} users indexed in ${indexSeconds.toFixed(0)} s`,
    );
    line('urgency 4, nothing queued (before)', quiet);
    await hops(
      system.config,
      client.messages.filter((frame) => frame.msg?.startsWith('u4-quiet-')),
      'lane.4',
    );
    line(`urgency 4, ${options.broadcasts}× urgency-1 broadcast draining`, drain.urgent);
    console.log(
      `  broadcast: fanout done ${drain.seconds.toFixed(1)} s after produce ` +
        `(${Math.round((options.users * options.broadcasts) / drain.seconds).toLocaleString('en-GB')} recipients/s ` +
        `through prioritize → triage.lane1 → fanout, bulk pacing ${pacingOf(system)}); ` +
        `p99 ratio busy/quiet ${(drain.urgent.p99 / baseline.p99).toFixed(1)}× (quiet: the lower p99 of before and after)`,
    );
    console.log(`    p99 (ms) by when it was sent, from the broadcast's start: ${timelineOf(drain.urgent)}`);
    // Under the busy line: printed after the CPU tables (until 2026-12-02), they read as the last quiet window's.
    await hops(
      system.config,
      client.messages.filter((frame) => frame.msg?.startsWith('u4-busy-')),
      'lane.4',
    );
    line('urgency 4, nothing queued (after)', quietAfter);
    console.log('  nothing queued (before):');
    console.log(describeCpuPhase(quietPhase, '  '));
    console.log(describeGcPauses(quietPauses, quietPhase.seconds, '  '));
    console.log('  while the broadcast drains:');
    console.log(describeCpuPhase(drainPhase, '  '));
    console.log(describeGcPauses(drainPauses, drainPhase.seconds, '  '));
    console.log('  nothing queued (after):');
    console.log(describeCpuPhase(afterPhase, '  '));
    console.log(describeGcPauses(afterPauses, afterPhase.seconds, '  '));
    const isolation = drain.urgent.p99 / baseline.p99;
    reportFigure({
      bench: 'flow',
      figure: `urgency 4 p99 while a ${options.users.toLocaleString('en-GB')}-user urgency-1 broadcast drains, ${layout}`,
      value: drain.urgent.p99,
      unit: 'ms',
      baseline: { name: 'urgency 4 p99, nothing queued (lower of before and after)', value: baseline.p99, unit: 'ms' },
      ratio: isolation,
      goal: '≤ 1.5× (busy / quiet)',
      met: isolation <= 1.5 && drain.urgent.lost === 0,
    });
    console.log(`  peak RSS: ${peakRss([...system.processes.values(), ...stageProcesses])}`);
  } finally {
    await Promise.allSettled([client?.close(), producer.close(), ...stageProcesses.map((child) => child.stop())]);
    await system.teardown();
  }
  return references(base, options.include);
}

/** The bulk lane's pacing as the stage processes run it (MSGXC_FANOUT_BULK_PACING; 0 turns it off). */
function pacingOf(system: System): string {
  const pacing = system.config.fanout.bulkPacing;
  if (!pacing) return 'off';
  const pressure = pacing.cpuPressureLimit > 0 ? `, CPU pressure above ${pacing.cpuPressureLimit}` : '';
  return `${pacing.tolerance}× (max pause ${pacing.maxPauseMs} ms${pressure})`;
}

/** The pipeline stages: one `msgxc run <stage>` each (split), or the harness's single `stages` process. */
async function startStages(system: System, split: boolean, started: MsgxcProcess[]): Promise<void> {
  if (!split) {
    await system.start('stages');
    return;
  }
  await Promise.all(
    pipelineStages.map(async (stage) => {
      const env = {
        ...system.env,
        // A port picked in advance can be taken meanwhile (EADDRINUSE with ten processes starting at once).
        MSGXC_METRICS_PORT: '0',
        MSGXC_KAFKA_CLIENT_ID: `${system.env.MSGXC_KAFKA_CLIENT_ID}-${stage}`,
      };
      const child = spawnMsgxc(`stage-${stage}`, ['run', stage], env, system.logDir, productionSessions);
      started.push(child);
      await child.waitForLog(/"msg":"stages running"/, 180_000);
    }),
  );
}

function peakRss(processes: MsgxcProcess[]): string {
  return processes
    .map((child) => {
      const status = child.child.pid ? readFileSync(`/proc/${child.child.pid}/status`, 'utf8') : '';
      const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      return `${child.name} ${Math.round(kib / 1024)} MiB`;
    })
    .join(', ');
}

async function references(base: Config, include: string[]): Promise<number> {
  console.log(
    '\nalso: broadcast fan-out vs raw audience paging — npm run bench -- flow-fanout [users=100000]' +
      '\n      10k connections on one gateway     — npm run bench -- gateway [connections=10000]',
  );
  let code = 0;
  if (include.includes('fanout')) code ||= await (await import('./fanout.ts')).run(base, []);
  if (include.includes('gateway')) code ||= await (await import('./gateway.ts')).run(base, []);
  return code;
}

function parseOptions(args: string[]): Options | undefined {
  const given = Object.fromEntries(args.map((arg) => arg.split('=', 2) as [string, string]));
  const options: Options = { ...defaults, include: given.include?.split(',').filter(Boolean) ?? [] };
  for (const [key, value] of Object.entries(given)) {
    if (key === 'include') continue;
    if (!(key in defaults)) return undefined;
    const number = Number(value);
    if (!Number.isFinite(number) || number < 0) return undefined;
    options[key as keyof typeof defaults] = number;
  }
  return options.rate > 0 && options.urgentRate > 0 && options.broadcasts >= 1 ? options : undefined;
}
