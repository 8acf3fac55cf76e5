import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import type { StackConfig } from '../../pipeline/config/index.ts';
import { gcLogOption } from '../java.ts';
import { conf, maven } from './paths.ts';
import type { ServerContext, ServerDefinition } from './types.ts';

const version = '5.0.9';

function yaml(context: ServerContext): string {
  const dir = (name: string) => join(context.dir, name);
  const { cassandra: nativePort, cassandraStorage } = context.stack.ports;
  return `# Written by the msgxc local stack on every start; edit stack/servers/cassandra.ts instead.
cluster_name: msgxc
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
native_transport_port: ${nativePort}
storage_port: ${cassandraStorage}
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:${cassandraStorage}"
data_file_directories: [${dir('data')}]
commitlog_directory: ${dir('commitlog')}
saved_caches_directory: ${dir('saved_caches')}
hints_directory: ${dir('hints')}
cdc_raw_directory: ${dir('cdc')}
commitlog_sync: periodic
commitlog_sync_period: 10000ms
auto_snapshot: false
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
concurrent_reads: 16
concurrent_writes: 16
memtable_heap_space: 128MiB
`;
}

const jvmOptions = () =>
  readFileSync(conf('cassandra-jvm17.options'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .flatMap((line) => (line.startsWith('--add-') ? line.split(/\s+/) : [line]));

export const cassandraServer: ServerDefinition = {
  name: 'cassandra',
  title: `Cassandra ${version}`,
  version,
  artifact: { kind: 'dependencies', pom: maven('cassandra.pom.xml') },
  heap: '1g',
  ports: (stack) => [
    { port: stack.ports.cassandra, variable: 'MSGXC_CASSANDRA_PORT', published: true },
    { port: stack.ports.cassandraStorage, variable: 'MSGXC_CASSANDRA_STORAGE_PORT', published: false },
  ],
  async prepare(context) {
    for (const name of ['data', 'commitlog', 'saved_caches', 'hints', 'cdc', 'logs']) {
      mkdirSync(join(context.dir, name), { recursive: true });
    }
    writeFileSync(join(context.dir, 'cassandra.yaml'), yaml(context));
  },
  launch(context) {
    const lib = join(context.home, 'lib');
    const jamm = readdirSync(lib).find((file) => /^jamm-.*\.jar$/.test(file));
    return {
      command: context.java.bin,
      args: [
        '-Xms1g',
        `-Xmx${this.heap}`,
        '-Xss512k',
        '-XX:+UseG1GC',
        '-XX:+ParallelRefProcEnabled',
        '-XX:MaxGCPauseMillis=300',
        gcLogOption(context.dir),
        '-XX:+ExitOnOutOfMemoryError',
        '-XX:MaxDirectMemorySize=256m',
        ...jvmOptions(),
        `-javaagent:${join(lib, jamm ?? 'jamm.jar')}`,
        '-Dcassandra-foreground=yes',
        `-Dcassandra.config=file://${join(context.dir, 'cassandra.yaml')}`,
        `-Dcassandra.storagedir=${context.dir}`,
        `-Dcassandra.logdir=${join(context.dir, 'logs')}`,
        `-Dlogback.configurationFile=${conf('cassandra-logback.xml')}`,
        // JMX stays off the network: nodetool is not part of the local stack.
        '-Dcassandra.jmx.local.port=0',
        '-Dcassandra.skip_wait_for_gossip_to_settle=0',
        '-Dcassandra.ring_delay_ms=100',
        '-cp',
        join(lib, '*'),
        'org.apache.cassandra.service.CassandraDaemon',
      ],
      cwd: context.dir,
      // Cassandra's request stages (SEPWorker) wait for work in timed parks of 10 µs and more between requests.
      // With the kernel's 50 µs slack, traffic of a few hundred requests a second kept its workers waking tens of
      // thousands of times a second: 17 % of a core at 20 writes/s against 7 % with 500 µs, same write latency
      // (p50 1.8 ms, p99 5–6 ms; session of 2026-12-01). On the 2-core machine that core is the stages' CPU.
      timerSlackNs: 500_000,
    };
  },
  async healthy(stack: StackConfig) {
    const client = new cassandra.Client({
      contactPoints: [`127.0.0.1:${stack.ports.cassandra}`],
      localDataCenter: 'datacenter1',
      socketOptions: { connectTimeout: 1500, readTimeout: 3000 },
    });
    try {
      await client.connect();
      const result = await client.execute('SELECT release_version FROM system.local');
      return result.rowLength === 1;
    } catch {
      return false;
    } finally {
      await client.shutdown();
    }
  },
  endpoint: (stack) => `127.0.0.1:${stack.ports.cassandra} (CQL, data centre datacenter1)`,
};
