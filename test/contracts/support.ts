import { randomBytes } from 'node:crypto';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { createKafka } from '../../pipeline/kafka/index.ts';

/** A config whose topics and subjects are this run's alone: `ct<random>.msgxc.<logical>`. */
export function uniqueConfig(): Config {
  return parseConfig({
    ...process.env,
    MSGXC_TOPIC_PREFIX: `ct${randomBytes(4).toString('hex')}.`,
    MSGXC_LOG_LEVEL: process.env.MSGXC_LOG_LEVEL ?? 'warn',
  });
}

export async function registryGet(config: Config, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${config.registry.url}${path}`);
  return { status: response.status, body: await response.json() };
}

/** POSTs a schema version the way any client would, to see the registry's own answer. */
export async function registryPostVersion(
  config: Config,
  subject: string,
  schema: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${config.registry.url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Deletes the run's subjects (soft, then permanently), so the shared registry does not fill up. */
export async function deleteSubjects(config: Config): Promise<void> {
  if (!config.kafka.topicPrefix) throw new Error('refusing to delete subjects without a run prefix');
  const { body } = await registryGet(config, '/subjects');
  const mine = (body as string[]).filter((subject) => subject.startsWith(config.kafka.topicPrefix));
  for (const subject of mine) {
    const url = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
    await fetch(url, { method: 'DELETE' });
    await fetch(`${url}?permanent=true`, { method: 'DELETE' });
  }
}

/** Deletes the run's topics. */
export async function deleteTopics(config: Config): Promise<void> {
  if (!config.kafka.topicPrefix) throw new Error('refusing to delete topics without a run prefix');
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 60_000 });
  } finally {
    await admin.disconnect();
  }
}
