import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { checkpointOf, startSparkStreaming, submitArgs } from './index.ts';

describe('spark settings', () => {
  it('runs the streaming job on local[2] with 768m by default, and can be turned off', () => {
    const config = parseConfig({});
    expect(config.spark).toMatchObject({
      streaming: true,
      master: 'local[2]',
      driverMemory: '768m',
      triggerSeconds: 5,
    });
    expect(parseConfig({ MSGXC_SPARK_STREAMING: 'false' }).spark.streaming).toBe(false);
    expect(() => parseConfig({ MSGXC_SPARK_DRIVER_MEMORY: 'lots' })).toThrow(/MSGXC_SPARK_DRIVER_MEMORY/);
  });

  it('submits with the configured master and memory, one checkpoint per keyspace and topic prefix', () => {
    const config = parseConfig({
      MSGXC_SPARK_MASTER: 'spark://example:7077',
      MSGXC_SPARK_STATE_DIR: '/data/ckpt',
      MSGXC_TOPIC_PREFIX: 'p.',
    });
    expect(submitArgs(config, ['stream'])).toEqual([
      '--master',
      'spark://example:7077',
      '--driver-memory',
      '768m',
      '--',
      'stream',
    ]);
    expect(checkpointOf(config)).toBe('/data/ckpt/rollups-msgxc-p.');
  });
});

describe('startSparkStreaming', () => {
  it('starts the submit script with the configured arguments and stops its process group', async () => {
    // A stand-in project root whose spark/bin/submit.sh records each start, then waits.
    const root = await mkdtemp(join(tmpdir(), 'msgxc-spark-start-'));
    try {
      await mkdir(join(root, 'spark', 'bin'), { recursive: true });
      const script = join(root, 'spark', 'bin', 'submit.sh');
      await writeFile(script, `#!/usr/bin/env bash\necho "$*" >> "${root}/starts"\nsleep 60\n`);
      await chmod(script, 0o755);
      const config = { ...parseConfig({}), projectRoot: root };
      const running = startSparkStreaming(config, pino({ level: 'silent' }));
      let starts = '';
      for (let i = 0; i < 100 && starts === ''; i += 1) {
        await sleep(50);
        starts = await readFile(join(root, 'starts'), 'utf8').catch(() => '');
      }
      expect(starts).toContain('--master local[2] --driver-memory 768m -- stream --checkpoint');
      await running.stop();
      const after = await readFile(join(root, 'starts'), 'utf8');
      await sleep(200);
      expect(await readFile(join(root, 'starts'), 'utf8')).toBe(after);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
