import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from '../errors.ts';
import { gcLogOption } from '../java.ts';
import { answersOk } from './http.ts';
import { maven } from './paths.ts';
import type { ServerDefinition } from './types.ts';

const version = '2.19.1';

export const opensearchServer: ServerDefinition = {
  name: 'opensearch',
  title: `OpenSearch ${version} (one node, security off)`,
  version,
  artifact: { kind: 'dependencies', pom: maven('opensearch.pom.xml') },
  heap: '768m',
  ports: (stack) => [{ port: stack.ports.search, variable: 'MSGXC_SEARCH_PORT', published: true }],
  async prepare(context) {
    const port = context.stack.ports.search;
    // The runner probes HTTP ports only up to 9299 and silently exits past it.
    if (port > 9299) {
      throw new StackError(
        'ERR_PORT_RANGE',
        `opensearch: MSGXC_SEARCH_PORT=${port} is above 9299, the highest port the OpenSearch runner can bind.`,
      );
    }
    mkdirSync(context.dir, { recursive: true });
  },
  launch(context) {
    return {
      command: context.java.bin,
      args: [
        '-Xms256m',
        `-Xmx${this.heap}`,
        '-XX:+UseG1GC',
        gcLogOption(context.dir),
        '-Djava.awt.headless=true',
        '-cp',
        join(context.home, 'lib', '*'),
        'org.codelibs.opensearch.runner.OpenSearchRunner',
        '-basePath',
        context.dir,
        '-numOfNode',
        '1',
        // The runner numbers nodes from 1 and gives node N the HTTP port base+N.
        '-baseHttpPort',
        String(context.stack.ports.search - 1),
        '-clusterName',
        'msgxc',
      ],
      cwd: context.dir,
    };
  },
  healthy: (stack) =>
    answersOk(`http://127.0.0.1:${stack.ports.search}/_cluster/health?wait_for_status=yellow&timeout=1s`),
  endpoint: (stack) => `http://127.0.0.1:${stack.ports.search}`,
};
