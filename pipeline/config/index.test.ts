import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, parseConfig } from './index.ts';

describe('parseConfig', () => {
  it('points every client at the local stack by default', () => {
    const config = parseConfig({});
    expect(config.usesLocalStack).toBe(true);
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.registry.url).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(config.cassandra.contactPoints).toEqual(['127.0.0.1:9042']);
    expect(config.search).toMatchObject({ url: 'http://127.0.0.1:9200', engine: 'opensearch' });
  });

  it('produces from the stages with @platformatic/kafka unless told kafkajs, and refuses another client', () => {
    expect(parseConfig({}).kafka.producerClient).toBe('platformatic');
    expect(parseConfig({ MSGXC_KAFKA_PRODUCER_CLIENT: 'kafkajs' }).kafka.producerClient).toBe('kafkajs');
    expect(parseConfig({}).kafka.requestLingerMs).toBe(0);
    expect(parseConfig({ MSGXC_KAFKA_REQUEST_LINGER_MS: '2' }).kafka.requestLingerMs).toBe(2);
    expect(() => parseConfig({ MSGXC_KAFKA_REQUEST_LINGER_MS: '-1' })).toThrow(/MSGXC_KAFKA_REQUEST_LINGER_MS/);
    expect(() => parseConfig({ MSGXC_KAFKA_PRODUCER_CLIENT: 'rdkafka' })).toThrow(/MSGXC_KAFKA_PRODUCER_CLIENT/);
  });

  it('moves client defaults with the local ports', () => {
    const config = parseConfig({ MSGXC_KAFKA_PORT: '19092', MSGXC_REGISTRY_PORT: '18081' });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.registry.url).toBe('http://127.0.0.1:18081/apis/ccompat/v7');
  });

  it('treats a configured cluster as external, so the local stack is not started', () => {
    const config = parseConfig({ MSGXC_KAFKA_BROKERS: 'k1:9092, k2:9092' });
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(config.usesLocalStack).toBe(false);
    expect(parseConfig({ MSGXC_KAFKA_BROKERS: 'k1:9092', MSGXC_START_STACK: 'true' }).usesLocalStack).toBe(true);
  });

  it("paces the bulk lane's audience walks by default, and not at all with 0", () => {
    expect(parseConfig({}).fanout.bulkPacing).toEqual({
      tolerance: 2,
      maxPauseMs: 1_000,
      cpuPressureLimit: 0.4,
      cpuPressureFile: null,
    });
    const cgroup = '/sys/fs/cgroup/msgxc.slice/cpu.pressure';
    expect(parseConfig({ MSGXC_FANOUT_BULK_CPU_PRESSURE_FILE: cgroup }).fanout.bulkPacing?.cpuPressureFile).toBe(
      cgroup,
    );
    expect(() => parseConfig({ MSGXC_FANOUT_BULK_CPU_PRESSURE_FILE: 'cpu.pressure' })).toThrow(/absolute path/);
    expect(parseConfig({ MSGXC_FANOUT_BULK_CPU_PRESSURE: '0' }).fanout.bulkPacing?.cpuPressureLimit).toBe(0);
    expect(() => parseConfig({ MSGXC_FANOUT_BULK_CPU_PRESSURE: '40' })).toThrow(/MSGXC_FANOUT_BULK_CPU_PRESSURE/);
    expect(parseConfig({ MSGXC_FANOUT_BULK_PACING: '0' }).fanout.bulkPacing).toBeNull();
    // A tolerance of 1 would read every page as contention.
    expect(() => parseConfig({ MSGXC_FANOUT_BULK_PACING: '1' })).toThrow(/MSGXC_FANOUT_BULK_PACING/);
  });

  it('names the variable and the reason when a value is wrong', () => {
    expect(() => parseConfig({ MSGXC_KAFKA_PORT: 'ninety' })).toThrow(ConfigError);
    try {
      parseConfig({ MSGXC_KAFKA_PORT: '70000', MSGXC_SEARCH_ENGINE: 'solr' });
      expect.unreachable();
    } catch (error) {
      const variables = (error as ConfigError).issues.map((issue) => issue.variable);
      expect(variables).toEqual(expect.arrayContaining(['MSGXC_KAFKA_PORT', 'MSGXC_SEARCH_ENGINE']));
    }
  });
});

describe('README', () => {
  // Read by programs beside msgxc rather than by msgxc itself: the example client takes its token from here.
  const notConfig = new Set(['MSGXC_TOKEN']);

  it('names only variables the schema reads', () => {
    const readme = readFileSync(join(parseConfig({}).projectRoot, 'README.md'), 'utf8');
    const named = new Set(readme.match(/\bMSGXC_[A-Z0-9_]+/g));
    expect(named.size).toBeGreaterThan(0);
    const unknown = [...named].filter((name) => !notConfig.has(name) && !(name in envSchema.shape));
    expect(unknown).toEqual([]);
  });
});
