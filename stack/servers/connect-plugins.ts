import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findMaven } from '../java.ts';
import { maven } from './paths.ts';

/**
 * The Connect worker's plugin.path: the project's Cassandra sink connector (built from
 * connectors/cassandra-sink with Maven when its jar is missing) and the Apicurio Avro converter
 * (resolved from Maven Central into the cache once).
 */

export const sinkModule = join(import.meta.dirname, '..', '..', 'connectors', 'cassandra-sink');
const sinkPluginBuild = join(sinkModule, 'target', 'plugin');
export const sinkConnectorClass = 'dev.msgxc.connect.cassandra.CassandraSinkConnector';
export const apicurioConverterClass = 'io.apicurio.registry.utils.converter.AvroConverter';

/** Builds the connector (tests included) unless its jar is there already; returns the plugin directory. */
export function buildSinkConnector(options: { force?: boolean; skipTests?: boolean } = {}): string {
  const jar = join(sinkPluginBuild, 'msgxc-cassandra-sink-0.1.0.jar');
  if (options.force || !existsSync(jar)) {
    execFileSync(
      findMaven(),
      [
        '-B',
        '-q',
        '-f',
        join(sinkModule, 'pom.xml'),
        'clean',
        'package',
        ...(options.skipTests ? ['-DskipTests'] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
  }
  return sinkPluginBuild;
}

/** Resolves the Apicurio converter and its dependencies (Kafka's own left out) into the cache. */
export function resolveApicurioConverter(home: string): string {
  const target = join(home, 'plugins', 'apicurio-converter');
  const marker = join(target, '.resolved');
  if (!existsSync(marker)) {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    execFileSync(
      findMaven(),
      [
        '-B',
        '-q',
        '-f',
        maven('connect-apicurio.pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${target}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    execFileSync('touch', [marker]);
  }
  return target;
}

/**
 * Lays out a worker's plugin.path under its own directory: a copy of the connector (a rebuild while
 * the worker runs cannot swap jars under it) beside the converter.
 */
export function installPlugins(home: string, workerDir: string): string {
  const pluginPath = join(workerDir, 'plugins');
  rmSync(pluginPath, { recursive: true, force: true });
  mkdirSync(pluginPath, { recursive: true });
  cpSync(buildSinkConnector({ skipTests: true }), join(pluginPath, 'msgxc-cassandra-sink'), { recursive: true });
  cpSync(resolveApicurioConverter(home), join(pluginPath, 'apicurio-converter'), { recursive: true });
  return pluginPath;
}
