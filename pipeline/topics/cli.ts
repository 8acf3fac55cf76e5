import type { Config } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { registerSchemas } from '../serde/index.ts';
import { ensureTopics } from './ensure.ts';
import { hasTopic, renderTopology } from './topology.ts';

/**
 * `msgxc topics [logical…]` registers every value schema (BACKWARD) and creates or updates the
 * topics from the table (all, or the logical names given). `msgxc topics --print` prints the table
 * as Markdown and touches nothing.
 */
export async function run(config: Config, args: string[]): Promise<number> {
  if (args.includes('--print')) {
    process.stdout.write(renderTopology());
    return 0;
  }
  const names = args.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !hasTopic(name));
  if (unknown.length > 0) {
    console.error(`unknown topic(s): ${unknown.join(', ')} (see \`msgxc topics --print\`)`);
    return 2;
  }
  const log = createLogger(config, 'topics');
  const ids = await registerSchemas(config);
  log.info({ subjects: Object.fromEntries(ids) }, 'schemas registered (BACKWARD)');
  const report = await ensureTopics(config, names.length > 0 ? names : undefined, { log });
  console.log(
    `schemas: ${ids.size} subjects · topics: ${report.created.length} created, ${report.grown.length} grown, ` +
      `${report.reconfigured.length} reconfigured`,
  );
  return 0;
}
