import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { RecordProducer } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { StageMetrics } from '../metrics/index.ts';
import { type RunningStage, startStage } from './stage-runner.ts';
import type { AnyStageDefinition, Codec, Service } from './types.ts';
import { UrgencyGate } from './urgency-gate.ts';

export interface StageProcessParts {
  config: Config;
  log: Logger;
  kafka: Kafka;
  producer: RecordProducer;
  admin: Admin;
  codec: Codec;
  metrics: StageMetrics;
  instance: string;
  /** The stages' names, then the services'. */
  names: string[];
}

/**
 * The stages and services of one process over one Kafka client and producer: started in order, stopped
 * once (services first), with an exit code that says whether everything went down cleanly.
 */
export class StageProcess {
  readonly done: Promise<number>;
  private readonly parts: StageProcessParts;
  private readonly abort = new AbortController();
  private readonly gate = new UrgencyGate({ maxWaitMs: 250 });
  private readonly running: RunningStage[] = [];
  private readonly started: [string, Service][] = [];
  private exitCode = 0;
  private settle: (code: number) => void = () => undefined;
  private stopping: Promise<void> | undefined;

  constructor(parts: StageProcessParts) {
    this.parts = parts;
    this.done = new Promise<number>((resolve) => {
      this.settle = resolve;
    });
  }

  /** Starts the stages (each joins its group), then the services; on a failure closes what started. */
  async start(stages: AnyStageDefinition[], services: [string, Service][]): Promise<void> {
    try {
      for (const stage of stages) this.running.push(await this.startOne(stage));
      for (const [name, service] of services) {
        await service.start();
        this.started.push([name, service]);
        this.parts.log.info({ service: name }, 'service running');
      }
    } catch (error) {
      await this.closeAll();
      throw error;
    }
  }

  private startOne(stage: AnyStageDefinition): Promise<RunningStage> {
    const { config, kafka, producer, admin, codec, metrics, instance } = this.parts;
    const log = this.parts.log.child({ stage: stage.name });
    return startStage({
      config,
      stage,
      kafka,
      producer,
      admin,
      codec,
      metrics,
      log,
      instance,
      signal: this.abort.signal,
      gate: this.gate,
      onFatal: (error) => {
        this.exitCode = 1;
        log.fatal({ err: error }, 'consumer crashed and will not restart');
        void this.stop('consumer crashed');
      },
    });
  }

  stop(reason = 'requested'): Promise<void> {
    this.stopping ??= this.stopOnce(reason);
    return this.stopping;
  }

  private async stopOnce(reason: string): Promise<void> {
    const { log, config, names } = this.parts;
    log.info({ reason, stages: names }, 'stopping: finishing in-flight batches');
    this.abort.abort(new Error(`stopping: ${reason}`));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.runtime.shutdownTimeoutMs);
    });
    const outcome = await Promise.race([this.closeAll().then(() => 'closed' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.exitCode = 1;
      const timeoutMs = config.runtime.shutdownTimeoutMs;
      log.error({ timeoutMs }, 'stop timed out; uncommitted records will be redelivered');
    } else {
      log.info({ stages: names }, 'stopped');
    }
    this.settle(this.exitCode);
  }

  private async closeAll(): Promise<void> {
    const { log } = this.parts;
    // Services first, newest first: they may feed the stages (the scheduler re-injects into ingest).
    for (const [name, service] of this.started.splice(0).reverse()) {
      try {
        await service.close();
      } catch (error) {
        this.exitCode = 1;
        log.error({ err: error, service: name }, 'service did not close cleanly');
      }
    }
    const results = await Promise.allSettled(this.running.map((stage) => stage.stop()));
    for (const [index, result] of results.entries()) {
      if (result.status === 'rejected') {
        this.exitCode = 1;
        log.error({ err: result.reason, stage: this.running[index]?.name }, 'stage did not stop cleanly');
      }
    }
    await Promise.allSettled([this.parts.producer.close(), this.parts.admin.disconnect()]);
  }
}
