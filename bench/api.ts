/**
 * The HTTP facade's publish against a bare Hono route, same run, same load generator:
 *
 *   npm run bench -- api [concurrency=32] [open-connections=64] [seconds=10] [warmup=2] [profile=<dir>] [trace-gc]
 *                        [clients | linger=<ms> | no-kafka] [workers=1]
 *
 * A child process serves three apps on @hono/node-server: a bare Hono route (`POST /api/v1/publish` that
 * parses the body and answers `true`), the bare route plus Kafka (it also writes the body to a topic with
 * acks=all through kafkajs with the facade's settings and group commit, and answers once acknowledged: no msgxc
 * code) and the real facade over the real servers (JWT check, validation, the thread's rules (Cassandra, cached
 * for 1 s), Avro encode, Kafka acks=all). This process drives each with `concurrency` keep-alive connections in a
 * closed loop and prints requests/s, p50 and p99, and the ratios: the facade to the bare route (the goal), the
 * bare route plus Kafka to the bare route (the most any publish that waits for the broker reaches on this
 * machine), and the facade to the bare route plus Kafka (what msgxc's own work costs). Then it offers the facade
 * 70% of its measured peak as an open loop (fixed arrival rate, latency counted from each request's scheduled
 * time, so a stall is not hidden) and prints p99 there; then the bare route plus Kafka's, at the same rate and at 70%
 * of its own peak (the goal's measure for a route with no msgxc code). The open loop
 * sends over a pool of `open-connections` keep-alive connections, as wrk2 does: a request due while all are
 * busy waits in the client, and that wait counts. A pool of 1,024 answered a 20 ms stall by opening hundreds of
 * connections, and accepting them raised the facade's CPU per request from 76–78 µs to 84–95 (2026-12-01),
 * which lengthened the queue the stall had left.
 *
 * Under each line, the serving process's own view: CPU per request, p99 of the time inside the app, and its
 * longest event-loop stall (a process starved of CPU stalls too), and where the machine's CPU went, by process.
 * CPU per request is the figure a shared machine disturbs least, but not little: over fifteen runs within half an
 * hour on 2026-12-02 the facade used 73–161 µs a request and the bare route 23–36. Two of those runs counted 14.5
 * records a produce request each, at 100 and 161 µs, so batching was not the difference. Compare two facades
 * within one run.
 *
 * The open loop also prints the most requests it had outstanding at once: a stall of S ms at rate R leaves about
 * R × S waiting (new connections opened for them), which drain at the spare 30 %, so a p99 far above the app's
 * own comes with a large peak there.
 *
 * `workers=N` serves both apps from N processes bound to the same ports (SO_REUSEPORT: the kernel spreads the
 * connections), as N facade instances on one host would run. On the 2-core machine two cost more than they gave
 * (2026-12-01, two runs each, alternating): the facade's CPU per request rose from 66–74 µs to 119–125, its peak
 * fell from 12.8–14.5k req/s to 9.4–10.1k, and p99 at 70 % of that lower peak was 9.5–17 ms against 26–50. Each
 * process sends its own, smaller produce requests, and on this virtual machine every write that wakes another
 * process (the broker, the load generator) is costly.
 *
 * `clients` serves the facade a second time with `@platformatic/kafka` behind its record producer (the `request`
 * settings of `pipeline/kafka/platformatic.ts`; the facade's own client is kafkajs). `linger=<ms>` serves it a
 * second time with that produce linger (`MSGXC_KAFKA_REQUEST_LINGER_MS`). The second facade is measured after each
 * phase: its peak, and its p99 at the same open-loop rate, so the two are compared at the same load in the same
 * run. The keyspace and topics it creates are dropped at the end. `no-kafka` is a diagnostic, never a result: the
 * second facade's producer hands its records to nothing and answers at once, to show what Kafka (its client, and
 * the broker on the same cores) costs the facade (pipeline/kafka/README.md).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { signDevelopmentToken } from '../pipeline/auth/sign.ts';
import { createCassandra, migrate } from '../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../pipeline/config/index.ts';
import { createKafka } from '../pipeline/kafka/index.ts';
import { ensureTopics } from '../pipeline/topics/index.ts';
import {
  createBareKafkaTopic,
  percentile,
  type ServerPorts,
  type ServerSample,
  type Variant,
  variantArg,
  variantNames,
} from './api-server.ts';
import { type CpuPhase, describeCpuPhase, startCpuPhase } from './harness/cpu-shares.ts';
import { closeConnections, closedLoop, openLoop, type Result, type Target } from './harness/http-load.ts';
import { reportFigure } from './results.ts';

interface Options {
  concurrency: number;
  /** The open loop's connection pool. */
  openConnections: number;
  seconds: number;
  warmup: number;
  /** A directory for a V8 CPU profile of the serving process. */
  profile: string | null;
  /** Print the serving process's garbage collections. */
  traceGc: boolean;
  /** Also serve the facade with `@platformatic/kafka`, or another linger, and compare the two. */
  variant: Variant | undefined;
  /** Serving processes, sharing the ports (SO_REUSEPORT); each serves both apps. */
  workers: number;
}

function parseArgs(args: string[]): Options {
  const named = new Map(args.map((arg) => [arg.split('=')[0]!, arg.split('=')[1] ?? 'true']));
  const number = (key: string, fallback: number, zeroAllowed = false) => {
    const value = Number(named.get(key) ?? fallback);
    if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
      throw new RangeError(`${key} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number`);
    }
    return value;
  };
  return {
    concurrency: number('concurrency', 32),
    openConnections: number('open-connections', 64),
    seconds: number('seconds', 10),
    warmup: number('warmup', 2),
    profile: named.get('profile') ?? null,
    traceGc: named.has('trace-gc'),
    variant: named.has('clients')
      ? { kind: 'clients' }
      : named.has('no-kafka')
        ? { kind: 'no-kafka' }
        : named.has('linger')
          ? { kind: 'linger', lingerMs: number('linger', 0, true) }
          : undefined,
    workers: number('workers', 1),
  };
}

const secret = randomBytes(32).toString('hex');

function describe(
  name: string,
  result: Result & { cpuPerRequest: number; loopDelayMaxMs: number; insideP99Ms: number; machine: CpuPhase },
) {
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const rps = result.completed / result.seconds;
  const line = {
    name,
    rps: Math.round(rps),
    p50: Number(percentile(sorted, 50).toFixed(2)),
    p99: Number(percentile(sorted, 99).toFixed(2)),
    failed: result.failed,
  };
  console.log(
    `${name.padEnd(28)} ${String(line.rps).padStart(7)} req/s   p50 ${line.p50.toFixed(2).padStart(7)} ms   p99 ${line.p99.toFixed(2).padStart(7)} ms\n${''.padEnd(29)}server: CPU ${Math.round(result.cpuPerRequest)} µs/req, p99 inside the app ${result.insideP99Ms.toFixed(2)} ms, longest event-loop stall ${result.loopDelayMaxMs.toFixed(0)} ms${result.peakOutstanding === undefined ? '' : `, at most ${result.peakOutstanding} requests outstanding`}${result.failed ? `   (${result.failed} failed)` : ''}`,
  );
  if (result.generatorStallMs !== undefined) {
    console.log(`${''.padEnd(29)}load generator: longest event-loop stall ${result.generatorStallMs.toFixed(0)} ms`);
  }
  console.log(describeCpuPhase(result.machine, ''.padEnd(29)));
  return line;
}

/** `_config` is the process's; the bench builds its own from the same environment, with its own names. */
export async function run(_config: Config, args: string[]): Promise<number> {
  const options = parseArgs(args);
  const suffix = randomBytes(4).toString('hex');
  const env = {
    ...process.env,
    MSGXC_CASSANDRA_KEYSPACE: `bench_api_${suffix}`,
    MSGXC_TOPIC_PREFIX: `bench-api-${suffix}.`,
    MSGXC_JWT_SECRET: secret,
    MSGXC_LOG_LEVEL: 'warn',
    // One user publishing as fast as it can: the facade's rate limits would measure themselves.
    MSGXC_HTTP_RATE_USER_PER_SECOND: '0',
    MSGXC_HTTP_RATE_TOKEN_PER_SECOND: '0',
    MSGXC_HTTP_RATE_THREAD_PER_MINUTE: '0',
  };
  const config = parseConfig(env);
  console.log(`setting up keyspace ${config.cassandra.keyspace} and topics ${config.kafka.topicPrefix}msgxc.*`);
  await migrate(config);
  await ensureTopics(config, ['ingest', 'audience']);
  await createBareKafkaTopic(config);

  const serverArgs = ['--bench-api-server', ...(options.variant ? [variantArg(options.variant)] : [])];
  const execArgv = [
    '--experimental-strip-types',
    '--no-warnings=ExperimentalWarning',
    ...(options.profile === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profile}`]),
    ...(options.traceGc ? ['--trace-gc'] : []),
  ];
  const workers: ChildProcess[] = [];
  const startWorker = (args: string[]) => {
    const worker = fork(new URL('./api-server.ts', import.meta.url), args, {
      env,
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    workers.push(worker);
    return new Promise<ServerPorts>((resolve, reject) => {
      worker.once('message', (message) => resolve(message as ServerPorts));
      worker.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    });
  };
  try {
    // The first worker picks the ports; the others bind the same ones (SO_REUSEPORT).
    const ports = await startWorker(serverArgs);
    for (let n = 1; n < options.workers; n++) await startWorker([...serverArgs, `--ports=${JSON.stringify(ports)}`]);
    const sampleOf = (worker: ChildProcess) =>
      new Promise<ServerSample>((resolve) => {
        worker.once('message', (message) => resolve(message as ServerSample));
        worker.send('cpu');
      });
    /** The workers' CPU summed; their longest stall and their highest p99 inside the app. */
    const serverSample = async (): Promise<ServerSample> => {
      const samples = await Promise.all(workers.map(sampleOf));
      return {
        cpu: samples.reduce((sum, sample) => sum + sample.cpu, 0),
        loopDelayMaxMs: Math.max(...samples.map((sample) => sample.loopDelayMaxMs)),
        insideP99Ms: Math.max(...samples.map((sample) => sample.insideP99Ms)),
      };
    };
    /** Runs a phase and adds the serving processes' CPU microseconds per answered request. */
    const measured = async (phase: () => Promise<Result>) => {
      const before = await serverSample();
      const endCpuPhase = startCpuPhase();
      const result = await phase();
      const machine = endCpuPhase();
      const after = await serverSample();
      return {
        machine,
        ...result,
        cpuPerRequest: (after.cpu - before.cpu) / Math.max(1, result.completed),
        loopDelayMaxMs: after.loopDelayMaxMs,
        insideP99Ms: after.insideP99Ms,
      };
    };
    const jwt = await signDevelopmentToken({ secret, sub: 'bench-publisher' });
    const headers = { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' };
    const created = await fetch(`http://127.0.0.1:${ports.facade}/api/v1/threads`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bench', openPublish: true }),
    });
    if (created.status !== 201) throw new Error(`could not create the bench thread: ${await created.text()}`);
    const { tid } = (await created.json()) as { tid: string };
    const body = JSON.stringify({
      tid,
      msg: 'A benchmark message of a realistic length, about eighty bytes.',
      opts: { urgency: 3 },
    });
    const bare: Target = { port: ports.bare, path: '/api/v1/publish', headers, body };
    const bareKafka: Target = { ...bare, port: ports.bareKafka };
    const facade: Target = { port: ports.facade, path: '/api/v1/publish', headers, body };

    console.log(
      `\nclosed loop, ${options.concurrency} connections, ${options.seconds} s each (after ${options.warmup} s warm-up)`,
    );
    await closedLoop(bare, options.concurrency, options.warmup);
    const bareLine = describe(
      'bare Hono route',
      await measured(() => closedLoop(bare, options.concurrency, options.seconds)),
    );
    await closedLoop(bareKafka, options.concurrency, options.warmup);
    const bareKafkaLine = describe(
      'bare route + Kafka acked',
      await measured(() => closedLoop(bareKafka, options.concurrency, options.seconds)),
    );
    await closedLoop(facade, options.concurrency, options.warmup);
    const facadeLine = describe(
      'msgxc publish (Kafka acked)',
      await measured(() => closedLoop(facade, options.concurrency, options.seconds)),
    );
    console.log(`ratio msgxc / bare: ${(facadeLine.rps / bareLine.rps).toFixed(3)} (goal >= 0.7)`);
    console.log(
      `ratio bare + Kafka / bare: ${(bareKafkaLine.rps / bareLine.rps).toFixed(3)} (the most any publish that waits for Kafka reaches here)`,
    );
    console.log(
      `ratio msgxc / bare + Kafka: ${(facadeLine.rps / bareKafkaLine.rps).toFixed(3)} (what msgxc's own work costs)`,
    );
    const { configured, other: otherName } = options.variant
      ? variantNames(config, options.variant)
      : { configured: '', other: '' };
    const other: Target | undefined = ports.variant === undefined ? undefined : { ...facade, port: ports.variant };
    let otherPeak: ReturnType<typeof describe> | undefined;
    if (other !== undefined) {
      await closedLoop(other, options.concurrency, options.warmup);
      otherPeak = describe(
        `msgxc publish, ${otherName}`,
        await measured(() => closedLoop(other, options.concurrency, options.seconds)),
      );
      console.log(
        `ratio ${otherName} / ${configured} behind the facade: ${(otherPeak.rps / facadeLine.rps).toFixed(3)}`,
      );
    }

    const rate = seventyPercentOf(facadeLine.rps);
    console.log(
      `\nopen loop at 70% of the facade's peak: ${rate} req/s for ${options.seconds} s over ${options.openConnections} connections`,
    );
    const steady = describe(
      'msgxc publish @70%',
      await measured(() => openLoop(facade, rate, options.seconds, options.openConnections)),
    );
    console.log(`p99 at 70% of peak: ${steady.p99.toFixed(2)} ms (goal < 20 ms)`);
    const bareKafkaSteady = describe(
      'bare route + Kafka, same rate',
      await measured(() => openLoop(bareKafka, rate, options.seconds, options.openConnections)),
    );
    // The goal's own measure applied to the route with no msgxc code: 70 % of its own peak, not the facade's.
    const bareKafkaRate = seventyPercentOf(bareKafkaLine.rps);
    const bareKafkaOwn = describe(
      `bare route + Kafka @70% of its own peak (${bareKafkaRate} req/s)`,
      await measured(() => openLoop(bareKafka, bareKafkaRate, options.seconds, options.openConnections)),
    );
    if (other !== undefined && otherPeak !== undefined) {
      const otherSteady = describe(
        `msgxc publish, ${otherName}, same rate`,
        await measured(() => openLoop(other, rate, options.seconds, options.openConnections)),
      );
      reportFigure({
        bench: 'api',
        figure: `publish throughput, ${otherName} ÷ ${configured} behind the facade`,
        value: otherPeak.rps,
        unit: 'req/s',
        baseline: { name: `the facade with ${configured}`, value: facadeLine.rps, unit: 'req/s' },
        ratio: otherPeak.rps / facadeLine.rps,
        goal: 'informational',
      });
      reportFigure({
        bench: 'api',
        figure: `publish p99 at the same rate, ${otherName} ÷ ${configured} behind the facade`,
        value: otherSteady.p99,
        unit: 'ms',
        baseline: { name: `the facade with ${configured}`, value: steady.p99, unit: 'ms' },
        ratio: otherSteady.p99 / steady.p99,
        goal: 'informational',
        better: 'lower',
      });
    }
    const ratio = facadeLine.rps / bareLine.rps;
    reportFigure({
      bench: 'api',
      figure: 'publish throughput, 32 connections',
      value: facadeLine.rps,
      unit: 'req/s',
      baseline: { name: 'bare Hono route', value: bareLine.rps, unit: 'req/s' },
      ratio,
      goal: '≥ 0.7',
      met: ratio >= 0.7,
    });
    reportFigure({
      bench: 'api',
      figure: 'publish p99 at 70 % of peak',
      value: steady.p99,
      unit: 'ms',
      goal: '< 20 ms',
      met: steady.p99 < 20,
    });
    // Beside the goals, the bare route that waits for Kafka: where the machine, the broker and the client put the
    // ceiling, and what msgxc's own work costs against it.
    const throughputAgainst = (figure: string, value: number, baseline: { name: string; value: number }) =>
      reportFigure({
        bench: 'api',
        figure,
        value,
        unit: 'req/s',
        baseline: { ...baseline, unit: 'req/s' },
        ratio: value / baseline.value,
        goal: 'informational',
      });
    const latency = (figure: string, value: number) =>
      reportFigure({ bench: 'api', figure, value, unit: 'ms', goal: 'informational', better: 'lower' });
    throughputAgainst('bare route + Kafka acked (group commit, no msgxc code), 32 connections', bareKafkaLine.rps, {
      name: 'bare Hono route',
      value: bareLine.rps,
    });
    throughputAgainst('publish throughput ÷ bare route + Kafka acked (what msgxc adds)', facadeLine.rps, {
      name: 'bare route + Kafka acked',
      value: bareKafkaLine.rps,
    });
    latency("bare route + Kafka acked, p99 at the facade's 70 % rate", bareKafkaSteady.p99);
    latency('bare route + Kafka acked, p99 at 70 % of its own peak', bareKafkaOwn.p99);
    return 0;
  } finally {
    closeConnections();
    await Promise.all(
      workers.map(async (worker) => {
        if (worker.exitCode !== null || worker.signalCode !== null) return;
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGTERM');
        await exited;
      }),
    );
    await dropBenchData(config);
  }
}

/** The open loop's arrival rate: 70 % of a closed loop's peak, as the p99 goal states it. */
const seventyPercentOf = (peak: number) => Math.max(1, Math.round(peak * 0.7));

async function dropBenchData(config: Config): Promise<void> {
  const cassandra = createCassandra(config, { keyspace: 'system' });
  const admin = createKafka(config).admin();
  try {
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`);
    await admin.connect();
    const prefix = `${config.kafka.topicPrefix}msgxc.`;
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const subjects = (await (await fetch(`${config.registry.url}/subjects`)).json()) as string[];
    for (const subject of subjects.filter((name) => name.startsWith(prefix))) {
      const url = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
      await (await fetch(url, { method: 'DELETE' })).body?.cancel();
      await (await fetch(`${url}?permanent=true`, { method: 'DELETE' })).body?.cancel();
    }
  } catch (error) {
    console.warn(`could not drop the bench keyspace, topics or subjects: ${(error as Error).message}`);
  } finally {
    await Promise.allSettled([cassandra.shutdown(), admin.disconnect()]);
  }
}
