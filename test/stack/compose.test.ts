import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, parseConfig } from '../../pipeline/config/index.ts';
import { servers } from '../../stack/index.ts';

/** docker-compose.yml cannot run here; this keeps its ports and variables in step with stack/. */
const compose = parse(readFileSync(join(import.meta.dirname, '..', '..', 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { ports?: string[]; profiles?: string[] }>;
};
const defaults = parseConfig({}).stack;

describe('docker-compose.yml', () => {
  it('has a service for every server of the local stack, and nothing unexpected', () => {
    const always = Object.entries(compose.services)
      .filter(([, service]) => !service.profiles)
      .map(([name]) => name);
    expect(always.sort()).toEqual(servers.map((server) => server.name).sort());
    expect(compose.services.elasticsearch?.profiles).toEqual(['elastic']);
  });

  for (const server of servers) {
    for (const { port, variable } of server.ports(defaults).filter((candidate) => candidate.published)) {
      it(`publishes ${server.name} on 127.0.0.1:\${${variable}:-${port}}`, () => {
        const published = compose.services[server.name]?.ports ?? [];
        expect(published.some((mapping) => mapping.startsWith(`127.0.0.1:\${${variable}:-${port}}:`))).toBe(true);
      });
    }
  }

  it('uses only variables the config schema knows', () => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', 'docker-compose.yml'), 'utf8');
    const variables = new Set([...text.matchAll(/\$\{(MSGXC_[A-Z_]+):-/g)].map((match) => match[1]!));
    expect(variables.size).toBeGreaterThan(0);
    for (const variable of variables) expect(Object.keys(envSchema.shape), variable).toContain(variable);
  });
});
