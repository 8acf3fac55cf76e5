import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log/index.ts';

/**
 * Runs the Spark streaming roll-up job (`spark/`, PySpark) as a child process of `npm start`:
 * `spark/bin/submit.sh` creates the job's Python environment on first use and submits it. The job is
 * restartable from its checkpoint, so when it exits on its own it is started again after a pause.
 */
export interface SparkStreaming {
  stop(): Promise<void>;
}

const restartDelayMs = 10_000;

export function submitArgs(config: Pick<Config, 'spark' | 'cassandra' | 'kafka'>, job: string[]): string[] {
  return ['--master', config.spark.master, '--driver-memory', config.spark.driverMemory, '--', ...job];
}

export function checkpointOf(config: Pick<Config, 'spark' | 'cassandra' | 'kafka'>): string {
  return join(config.spark.stateDir, `rollups-${config.cassandra.keyspace}-${config.kafka.topicPrefix}`);
}

export function startSparkStreaming(config: Config, log: Logger): SparkStreaming {
  const script = join(config.projectRoot, 'spark', 'bin', 'submit.sh');
  const args = submitArgs(config, ['stream', '--checkpoint', checkpointOf(config)]);
  let child: ChildProcess | undefined;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;

  const launch = () => {
    log.info(
      { master: config.spark.master, driverMemory: config.spark.driverMemory },
      'starting the Spark roll-up job',
    );
    const started = spawn(script, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = started;
    for (const stream of [started.stdout, started.stderr]) {
      // Spark's own log4j lines: warnings and errors are worth surfacing, the rest is debug detail.
      createInterface({ input: stream }).on('line', (line) => {
        if (/\b(ERROR|Exception)\b/.test(line)) log.error({ spark: line }, 'spark');
        else if (/\bWARN\b/.test(line)) log.warn({ spark: line }, 'spark');
        else log.debug({ spark: line }, 'spark');
      });
    }
    started.on('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      log.error(
        { code, signal, restartInMs: restartDelayMs },
        'the Spark roll-up job exited; restarting from its checkpoint',
      );
      timer = setTimeout(launch, restartDelayMs);
    });
  };
  launch();

  return {
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      const running = child;
      if (!running?.pid) return;
      const exited = new Promise<void>((resolvePromise) => running.once('exit', () => resolvePromise()));
      // The whole process group: spark-submit's JVM and the Python driver it runs.
      process.kill(-running.pid, 'SIGTERM');
      const killer = setTimeout(() => running.pid && process.kill(-running.pid, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
