import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { answersOk } from './http.ts';
import type { ServerDefinition } from './types.ts';

// 3.0.x is the newest Apicurio line that runs on Java 17 (3.1+ is built for Java 21).
const version = '3.0.9';

export const registryServer: ServerDefinition = {
  name: 'registry',
  title: `Apicurio Registry ${version} (Confluent-compatible API at /apis/ccompat/v7)`,
  version,
  artifact: { kind: 'archive', coordinates: `io.apicurio:apicurio-registry-app:${version}:zip:all` },
  heap: '384m',
  ports: (stack) => [{ port: stack.ports.registry, variable: 'MSGXC_REGISTRY_PORT', published: true }],
  async prepare(context) {
    mkdirSync(context.dir, { recursive: true });
  },
  launch(context) {
    return {
      command: context.java.bin,
      args: [
        '-Xms64m',
        `-Xmx${this.heap}`,
        '-XX:+UseSerialGC',
        '-Dquarkus.http.host=127.0.0.1',
        `-Dquarkus.http.port=${context.stack.ports.registry}`,
        // The management interface would bind 0.0.0.0:9000; the stack serves loopback only.
        '-Dquarkus.management.enabled=false',
        // On-disk H2 so schema ids survive restarts: records already in Kafka carry them.
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=h2',
        `-Dapicurio.datasource.url=jdbc:h2:file:${join(context.dir, 'h2', 'registry')};DB_CLOSE_ON_EXIT=FALSE`,
        '-jar',
        join(context.home, `apicurio-registry-app-${version}-runner.jar`),
      ],
      cwd: context.dir,
    };
  },
  healthy: (stack) => answersOk(`http://127.0.0.1:${stack.ports.registry}/apis/ccompat/v7/subjects`),
  endpoint: (stack) => `http://127.0.0.1:${stack.ports.registry}/apis/ccompat/v7`,
};
