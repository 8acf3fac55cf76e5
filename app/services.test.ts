import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../pipeline/config/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { runStages } from '../pipeline/runtime/run-stages.ts';
import type { Service } from '../pipeline/runtime/types.ts';
import { services, stages } from '../stages/index.ts';
import { run } from './run.ts';

const config = parseConfig({ MSGXC_ENV: 'test', MSGXC_LOG_LEVEL: 'silent' });
const log = createLogger(config, 'services-test');

function recording(events: string[], name: string, failStart = false): Service {
  return {
    async start() {
      events.push(`start ${name}`);
      if (failStart) throw new Error(`${name} cannot start`);
    },
    async close() {
      events.push(`close ${name}`);
    },
  };
}

// No stages: the runtime connects no Kafka client, so these run without servers.
describe('services under the runtime', () => {
  it('starts services in order and closes them newest first when stopped', async () => {
    const events: string[] = [];
    const running = await runStages(config, [], {
      log,
      registry: new Registry(),
      services: { one: recording(events, 'one'), two: recording(events, 'two') },
    });
    expect(running.names).toEqual(['one', 'two']);
    expect(events).toEqual(['start one', 'start two']);
    await running.stop('test');
    expect(await running.done).toBe(0);
    expect(events).toEqual(['start one', 'start two', 'close two', 'close one']);
  });

  it('closes the services already started when one fails to start, and fails', async () => {
    const events: string[] = [];
    const starting = runStages(config, [], {
      log,
      registry: new Registry(),
      services: {
        one: recording(events, 'one'),
        two: recording(events, 'two', true),
        three: recording(events, 'three'),
      },
    });
    await expect(starting).rejects.toThrow('two cannot start');
    expect(events).toEqual(['start one', 'start two', 'close one']);
  });

  it('reports a service that fails to close in the exit code', async () => {
    const running = await runStages(config, [], {
      log,
      registry: new Registry(),
      services: {
        stuck: {
          start: async () => undefined,
          close: async () => {
            throw new Error('cannot close');
          },
        },
      },
    });
    await running.stop('test');
    expect(await running.done).toBe(1);
  });
});

describe('msgxc run', () => {
  it('knows the scheduler as a service beside the stages, by a name no stage has', async () => {
    expect(Object.keys(services)).toContain('scheduler');
    for (const name of Object.keys(services)) expect(Object.keys(stages)).not.toContain(name);
    const printed: string[] = [];
    const original = console.log;
    console.log = (line: string) => printed.push(line);
    try {
      expect(await run(config, ['--list'])).toBe(0);
    } finally {
      console.log = original;
    }
    expect(printed.join('\n').split('\n')).toEqual([...Object.keys(stages).sort(), ...Object.keys(services).sort()]);
  });

  it('refuses an unknown name with the usage', async () => {
    const original = console.error;
    const printed: string[] = [];
    console.error = (line: string) => printed.push(line);
    try {
      expect(await run(config, ['nope'])).toBe(2);
    } finally {
      console.error = original;
    }
    expect(printed.join('\n')).toMatch(/unknown stage or service: nope[\s\S]*services: scheduler/);
  });
});
