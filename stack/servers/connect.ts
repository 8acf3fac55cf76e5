import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from '../../pipeline/config/index.ts';
import { installPlugins, sinkConnectorClass } from './connect-plugins.ts';
import { conf, maven } from './paths.ts';
import type { ServerContext, ServerDefinition } from './types.ts';

const version = '4.4.0';

export interface WorkerOptions {
  brokers: string;
  restPort: number;
  /** Workers with the same group id and internal topics form one Connect cluster. */
  groupId: string;
  topicPrefix: string;
  pluginPath: string;
}

/** A distributed worker's properties: single-replica internal topics for a one-broker Kafka. */
export function workerProperties(options: WorkerOptions): string {
  return [
    `bootstrap.servers=${options.brokers}`,
    `group.id=${options.groupId}`,
    `config.storage.topic=${options.topicPrefix}configs`,
    `offset.storage.topic=${options.topicPrefix}offsets`,
    `status.storage.topic=${options.topicPrefix}status`,
    'config.storage.replication.factor=1',
    'offset.storage.replication.factor=1',
    'status.storage.replication.factor=1',
    'offset.storage.partitions=5',
    'status.storage.partitions=3',
    `listeners=http://127.0.0.1:${options.restPort}`,
    'rest.advertised.host.name=127.0.0.1',
    `rest.advertised.port=${options.restPort}`,
    `plugin.path=${options.pluginPath}`,
    // Connectors choose their own value converter (the sinks use Apicurio's Avro converter).
    'key.converter=org.apache.kafka.connect.storage.StringConverter',
    'value.converter=org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable=false',
    // How often sink offsets are committed: after put() has written, so a shorter interval only
    // shortens what a crash replays (idempotently).
    'offset.flush.interval.ms=5000',
    // A dead worker's tasks move to the others after this; the default 5 minutes is long locally.
    'scheduled.rebalance.max.delay.ms=10000',
    // Lets a sink's declaration override consumer settings (max.poll.records) per connector.
    'connector.client.config.override.policy=All',
    '',
  ].join('\n');
}

/** The java command line of a worker: ConnectDistributed on the cached jars. */
export function workerCommand(home: string, propertiesFile: string, heap: string): string[] {
  return [
    '-Xms64m',
    `-Xmx${heap}`,
    '-XX:+UseSerialGC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${conf('connect-log4j2.xml')}`,
    '-cp',
    join(home, 'lib', '*'),
    'org.apache.kafka.connect.cli.ConnectDistributed',
    propertiesFile,
  ];
}

/** Healthy = the REST API answers and lists the project's sink connector among its plugins. */
export async function workerServesSink(restUrl: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(`${restUrl}/connector-plugins`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      return false;
    }
    const plugins = (await response.json()) as { class: string }[];
    return plugins.some((plugin) => plugin.class === sinkConnectorClass);
  } catch {
    return false;
  }
}

export const connectServer: ServerDefinition = {
  name: 'connect',
  title: `Kafka Connect ${version} (distributed worker, project's Cassandra sink)`,
  version,
  artifact: { kind: 'dependencies', pom: maven('connect.pom.xml') },
  heap: '384m',
  requires: ['kafka'],
  ports: (stack) => [{ port: stack.ports.connect, variable: 'MSGXC_CONNECT_PORT', published: true }],
  async prepare(context: ServerContext) {
    const pluginPath = installPlugins(context.home, context.dir);
    writeFileSync(
      join(context.dir, 'worker.properties'),
      workerProperties({
        brokers: `127.0.0.1:${context.stack.ports.kafka}`,
        restPort: context.stack.ports.connect,
        groupId: 'msgxc-connect',
        topicPrefix: 'msgxc.connect.',
        pluginPath,
      }),
    );
  },
  launch(context) {
    return {
      command: context.java.bin,
      args: workerCommand(context.home, join(context.dir, 'worker.properties'), this.heap),
      cwd: context.dir,
    };
  },
  healthy: (stack: StackConfig) => workerServesSink(`http://127.0.0.1:${stack.ports.connect}`),
  endpoint: (stack) => `http://127.0.0.1:${stack.ports.connect}`,
};
