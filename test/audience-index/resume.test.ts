import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTcpProxy, type TcpProxy } from '../../bench/harness/proxy.ts';
import { type AudienceIndex, createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import { parseConfig } from '../../pipeline/config/index.ts';
import { population, snapshotOf, uniquePrefix } from './fixtures.ts';

/**
 * OpenSearch goes away in the middle of an audience walk (a broadcast being expanded) for longer than the
 * point in time lives: the walk waits, opens a new point in time and goes on after the last user it
 * yielded — every user once, none skipped, none repeated, and it does not start over.
 */
const users = 1_200;
const pageSize = 100;

describe('an audience walk across a search engine outage', () => {
  let direct: AudienceIndex;
  let proxied: AudienceIndex;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const prefix = uniquePrefix();
    const env = { ...process.env, MSGXC_ENV: 'test', MSGXC_LOG_LEVEL: 'error', MSGXC_SEARCH_INDEX_PREFIX: prefix };
    const config = parseConfig(env);
    direct = createAudienceIndex(config);
    await direct.ensureIndex();
    const at = Date.now();
    await direct.upsertMany(population(users).map((user) => snapshotOf(user, at)));
    await direct.refresh();
    const target = new URL(config.search.url);
    proxy = await createTcpProxy({ host: target.hostname, port: Number(target.port) });
    proxied = createAudienceIndex(
      parseConfig({
        ...env,
        MSGXC_SEARCH_URL: `http://127.0.0.1:${proxy.port}`,
        MSGXC_SEARCH_PIT_KEEP_ALIVE: '1s',
        MSGXC_SEARCH_RESUME_WITHIN_MS: '60000',
      }),
    );
  });

  afterAll(async () => {
    await proxy?.stop();
    for (const target of await direct.adapter.aliasTargets(direct.alias)) await direct.adapter.deleteIndex(target);
    await Promise.allSettled([direct?.close(), proxied?.close()]);
  });

  it('resumes after the last user it yielded once the engine is back, with a new point in time', async () => {
    const seen: string[] = [];
    let outage: Promise<void> | undefined;
    for await (const page of proxied.pages({ kind: 'everyone' }, { pageSize })) {
      seen.push(...page.map((doc) => doc.uid));
      if (seen.length === pageSize * 3) {
        // Down for 4 s: the 1 s point in time expires in the meantime.
        await proxy.stop();
        outage = new Promise((resolve) => setTimeout(resolve, 4_000)).then(() => proxy.start());
      }
    }
    await outage;
    expect(seen).toHaveLength(users);
    expect(new Set(seen).size).toBe(users);
    expect(seen).toEqual([...seen].sort());
  });
});
