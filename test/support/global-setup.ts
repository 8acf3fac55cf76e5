import { loadConfig } from '../../pipeline/config/index.ts';
import { down, status, up } from '../../stack/index.ts';

/**
 * Integration tests run against the real servers. The local stack is started once per run when it
 * is not up already, and stopped afterwards only if this run started it. Whatever the run, the schema
 * subjects its tests registered under their random topic prefixes are deleted at the end, so a shared
 * registry does not fill up with test subjects.
 */
let startedHere = false;

/** Topic prefixes the test helpers draw (`t-rt-…`, `t-fe-…`, `t-e2e-…`, `http-…`, `smoke-…`). */
const testSubject =
  /^(t-[a-z0-9]+-[A-Za-z0-9]+|http-[A-Za-z0-9]+|smoke-[A-Za-z0-9]+|ct[0-9a-f]{8}|test-gw-[A-Za-z0-9]+)\.msgxc\./;

export async function setup(): Promise<void> {
  const config = loadConfig();
  if (!config.usesLocalStack) return;
  const rows = await status(config.stack);
  if (rows.every((row) => row.state === 'healthy' || row.state === 'foreign')) return;
  startedHere = rows.every((row) => row.state === 'down');
  await up(config.stack, { report: (line) => console.log(`[stack] ${line}`) });
}

async function dropTestSubjects(registryUrl: string): Promise<void> {
  const response = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`registry answered ${response.status} listing subjects`);
  const subjects = (await response.json()) as string[];
  for (const subject of subjects.filter((name) => testSubject.test(name))) {
    const url = `${registryUrl}/subjects/${encodeURIComponent(subject)}`;
    await (await fetch(url, { method: 'DELETE' })).body?.cancel();
    await (await fetch(`${url}?permanent=true`, { method: 'DELETE' })).body?.cancel();
  }
}

export async function teardown(): Promise<void> {
  const config = loadConfig();
  // Cleaning up must not turn a green run red: a registry that cannot be reached is reported, not thrown.
  await dropTestSubjects(config.registry.url).catch((error: unknown) =>
    console.warn(`could not delete the tests' schema subjects: ${error instanceof Error ? error.message : error}`),
  );
  if (!startedHere) return;
  await down(config.stack, (line) => console.log(`[stack] ${line}`));
}
