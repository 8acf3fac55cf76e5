import type { Config } from '../pipeline/config/index.ts';
import { createLogger } from '../pipeline/log/index.ts';
import { applyConnectors, connectorConfig, connectorName, loadSinks, removeConnectors } from './index.ts';

/** `msgxc connectors [--print | --delete]`: apply the sink declarations to Kafka Connect. */
export async function run(config: Config, args: string[]): Promise<number> {
  const sinks = loadSinks();
  if (args.includes('--print')) {
    for (const sink of sinks) {
      console.log(
        JSON.stringify({ name: connectorName(config, sink), config: connectorConfig(config, sink) }, null, 2),
      );
    }
    return 0;
  }
  if (args.includes('--delete')) {
    await removeConnectors(config, sinks);
    return 0;
  }
  const log = createLogger(config, 'connectors');
  const statuses = await applyConnectors(config, { sinks, log });
  for (const status of statuses) {
    console.log(`${status.name}: ${status.connector.state}, ${status.tasks.length} task(s) RUNNING`);
  }
  return 0;
}
