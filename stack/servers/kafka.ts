import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { StackConfig } from '../../pipeline/config/index.ts';
import { gcLogOption } from '../java.ts';
import { conf, maven } from './paths.ts';
import type { ServerContext, ServerDefinition } from './types.ts';

const version = '4.4.0';

function properties(context: ServerContext): string {
  const { kafka, kafkaController } = context.stack.ports;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${kafkaController}`,
    `listeners=PLAINTEXT://127.0.0.1:${kafka},CONTROLLER://127.0.0.1:${kafkaController}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${kafka}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${join(context.dir, 'data')}`,
    'num.partitions=3',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // A single node cannot host the default three replicas of the share-group state topic.
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'log.retention.hours=168',
    'log.segment.bytes=134217728',
    '',
  ].join('\n');
}

export const kafkaServer: ServerDefinition = {
  name: 'kafka',
  title: `Kafka ${version} (KRaft, combined broker+controller)`,
  version,
  artifact: { kind: 'dependencies', pom: maven('kafka.pom.xml') },
  heap: '768m',
  ports: (stack) => [
    { port: stack.ports.kafka, variable: 'MSGXC_KAFKA_PORT', published: true },
    { port: stack.ports.kafkaController, variable: 'MSGXC_KAFKA_CONTROLLER_PORT', published: false },
  ],
  async prepare(context) {
    const dataDir = join(context.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const config = join(context.dir, 'server.properties');
    writeFileSync(config, properties(context));
    if (existsSync(join(dataDir, 'meta.properties'))) return;
    const classpath = join(context.home, 'lib', '*');
    const run = (args: string[]) =>
      execFileSync(
        context.java.bin,
        ['-cp', classpath, `-Dlog4j2.configurationFile=${conf('kafka-log4j2.xml')}`, ...args],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    const clusterId = run(['kafka.tools.StorageTool', 'random-uuid']).trim().split('\n').pop()!.trim();
    run(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', config]);
  },
  launch(context) {
    return {
      command: context.java.bin,
      args: [
        `-Xms256m`,
        `-Xmx${this.heap}`,
        ...context.java.lowPauseGc,
        gcLogOption(context.dir),
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${conf('kafka-log4j2.xml')}`,
        '-cp',
        join(context.home, 'lib', '*'),
        'kafka.Kafka',
        join(context.dir, 'server.properties'),
      ],
      cwd: context.dir,
    };
  },
  async healthy(stack: StackConfig) {
    const admin = new Kafka({
      brokers: [`127.0.0.1:${stack.ports.kafka}`],
      clientId: 'msgxc-stack',
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } catch {
      return false;
    } finally {
      await admin.disconnect();
    }
  },
  endpoint: (stack) => `127.0.0.1:${stack.ports.kafka} (controller ${stack.ports.kafkaController})`,
};
