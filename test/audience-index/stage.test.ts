import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { type AudienceIndex, createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { type RunningStages, runStages } from '../../pipeline/runtime/index.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { stage } from '../../stages/audience/index.ts';
import { createTopics, deleteTestTopics, produce, readTopic, testConfig } from '../runtime/support.ts';
import { apnsDevice, change, uniquePrefix } from './fixtures.ts';

let config: Config | undefined;
let running: RunningStages | undefined;
let index: AudienceIndex | undefined;

afterAll(async () => {
  await running?.stop('test over');
  if (config) await deleteTestTopics(config);
  if (index) {
    for (const target of await index.adapter.aliasTargets(index.alias)) await index.adapter.deleteIndex(target);
    await index.close();
  }
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('audience stage (real Kafka, registry and OpenSearch)', () => {
  it('applies changes from the topic once each, and dead-letters a malformed one while the rest flow', async () => {
    config = testConfig({ MSGXC_SEARCH_INDEX_PREFIX: uniquePrefix() });
    await createTopics(config, { audience: 2 });
    const serde = createSerde(config);
    const at = Date.now();
    const uids = Array.from({ length: 12 }, (_, i) => `stage-user-${i}`);
    const changes = uids.flatMap((uid) => [
      change(uid, 'subscribe', at, { tid: 'news' }),
      change(uid, 'enlist_device', at, { device: apnsDevice(`${uid}-phone`) }),
    ]);
    const poison = change('stage-poison', 'subscribe', at); // no tid: valid Avro, meaningless change
    const late = change(uids[0]!, 'unsubscribe', at - 1_000, { tid: 'news' }); // older than what it would undo
    const records = [...changes.slice(0, 6), poison, ...changes.slice(6), ...changes.slice(0, 4), late];
    await produce(
      config,
      'audience',
      await Promise.all(
        records.map(async (value) => ({
          key: Buffer.from(value.uid),
          value: await serde.encode('audience', value),
          headers: {},
        })),
      ),
    );

    running = await runStages(config, [stage], { registry: new Registry() });
    index = createAudienceIndex(config);

    const dead = await readTopic(config, 'audience.dlq', (found) => found.length >= 1);
    expect(dead.map((record) => record.key)).toEqual(['stage-poison']);
    expect(dead[0]?.headers['msgxc-error-code']).toBe('INVALID_AUDIENCE_CHANGE');

    await eventually(async () => {
      await index!.refresh();
      return (await index!.count({ kind: 'thread', tid: 'news' })) === uids.length;
    });
    const subscribers: string[] = [];
    for await (const page of index.pages({ kind: 'thread', tid: 'news' }, { pageSize: 5 })) {
      subscribers.push(...page.map((doc) => doc.uid));
      for (const doc of page) expect(doc.devices.apns).toEqual([apnsDevice(`${doc.uid}-phone`)]);
    }
    expect(subscribers).toEqual([...uids].sort());
    expect(await index.get('stage-poison')).toBeUndefined();
  });
});
