import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { kafkaTopicName } from '../../pipeline/runtime/names.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import type { Acknowledgement } from '../../schemas/index.ts';
import { checkIn } from './fixtures/checkin-stage.ts';
import {
  createTopics,
  deleteTestTopics,
  eventually,
  produce,
  readTopic,
  testEnv,
  topicSize,
  withAdmin,
} from './support.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'stage-process.ts');

interface StageProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: StageProcess[] = [];
let config: Config | undefined;

afterEach(async () => {
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
  if (config) await deleteTestTopics(config);
  config = undefined;
});

/** The stage in its own process, started the way `msgxc run` starts stages (the pinned Node, type stripping). */
function startStageProcess(env: Record<string, string | undefined>, stage: string, chunkDelayMs: number): StageProcess {
  const node = join(parseConfig(env).projectRoot, 'node_modules', '.bin', 'node');
  const child = spawn(node, ['--experimental-strip-types', '--no-warnings', fixture, stage, String(chunkDelayMs)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const line of complete) {
      if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const errors: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      if (code !== 0 && code !== null) console.error(errors.join(''));
      resolve({ code, signal });
    });
  });
  const started = { child, lines, exited };
  children.push(started);
  return started;
}

const logged = (process: StageProcess, message: string) => process.lines.some((line) => line.msg === message);

async function produceCheckIns(target: Config, ids: string[]): Promise<void> {
  const serde = createSerde(target);
  const messages = await Promise.all(
    ids.map(async (id) => ({ key: Buffer.from(id), value: await serde.encode('checkins', checkIn(id)), headers: {} })),
  );
  await produce(target, 'checkins', messages);
}

async function waitForOutputs(target: Config, atLeast: number): Promise<number> {
  return eventually(
    async () => {
      const size = await topicSize(target, 'acks');
      return size >= atLeast ? size : undefined;
    },
    90_000,
    `${atLeast} outputs`,
  );
}

describe('a stage process (real Kafka and schema registry)', () => {
  it('loses no record when killed with SIGKILL mid-batch and restarted', async () => {
    const env = testEnv({ MSGXC_LOG_LEVEL: 'info', MSGXC_RUNTIME_HANDLER_BATCH: '10' });
    config = parseConfig(env);
    await createTopics(config, { checkins: 3, acks: 3 });
    const ids = Array.from({ length: 300 }, (_, index) => `session-${index}`);
    await produceCheckIns(config, ids);

    const first = startStageProcess(env, 'rt-kill', 200);
    await waitForOutputs(config, 30);
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The kill landed while there was work left (each handler call sleeps 200 ms, so it was mid-batch).
    expect(await topicSize(config, 'acks')).toBeLessThan(ids.length);
    expect(logged(first, 'stopped')).toBe(false);

    const second = startStageProcess(env, 'rt-kill', 0);
    const outputs = await readTopic(
      config,
      'acks',
      (records) => new Set(records.map((record) => record.key)).size >= ids.length,
      120_000,
    );
    const serde = createSerde(config);
    const acked = new Set<string>();
    for (const record of outputs) {
      const ack = (await serde.decode(record.value!)) as Acknowledgement;
      expect(ack.ackId).toBe(record.key);
      acked.add(ack.ackId);
    }
    expect(ids.filter((id) => !acked.has(id))).toEqual([]);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('on SIGTERM finishes the batch in hand, commits what it produced, leaves the group and closes its dependencies', async () => {
    const env = testEnv({ MSGXC_LOG_LEVEL: 'info', MSGXC_RUNTIME_HANDLER_BATCH: '10' });
    config = parseConfig(env);
    await createTopics(config, { checkins: 2, acks: 2 });
    const ids = Array.from({ length: 200 }, (_, index) => `session-${index}`);
    await produceCheckIns(config, ids);

    const first = startStageProcess(env, 'rt-term', 200);
    await eventually(async () => (logged(first, 'stages running') ? true : undefined), 60_000, 'the stage to start');
    await waitForOutputs(config, 20);

    // The metrics endpoint `msgxc run` serves, scraped while the stage runs.
    const running = first.lines.find((line) => line.msg === 'stages running');
    const scrape = await (await fetch(String(running?.metrics))).text();
    expect(scrape).toMatch(/msgxc_stage_records_in_total\{stage="rt-term",topic="checkins"\} \d+/);
    expect(scrape).toMatch(/msgxc_stage_batch_duration_seconds_count\{stage="rt-term"\} \d+/);

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(logged(first, 'stopped')).toBe(true);
    expect(first.lines.some((line) => line.fixture === 'deps closed')).toBe(true);

    const produced = await topicSize(config, 'acks');
    const groupId = `${config.kafka.topicPrefix}msgxc.rt-term`;
    const { committed, group } = await withAdmin(config, async (admin) => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [kafkaTopicName(config!, 'checkins')] });
      const { groups } = await admin.describeGroups([groupId]);
      return {
        committed: (offsets?.partitions ?? []).reduce((sum, entry) => sum + Math.max(0, Number(entry.offset)), 0),
        group: groups[0],
      };
    });
    // It left the group rather than waiting to be timed out of it.
    expect(group?.state).toBe('Empty');
    expect(group?.members).toEqual([]);
    // Everything produced was committed and nothing was committed without being produced.
    expect(committed).toBe(produced);
    expect(produced).toBeLessThan(ids.length);

    // So a restart picks up exactly where the first process stopped: every id once, no duplicates.
    const second = startStageProcess(env, 'rt-term', 0);
    const outputs = await readTopic(config, 'acks', (records) => records.length >= ids.length, 120_000);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(await topicSize(config, 'acks')).toBe(ids.length);
    expect(new Set(outputs.map((record) => record.key)).size).toBe(ids.length);
  });
});
