import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cassandraAudienceSource } from '../../pipeline/audience-index/cassandra-source.ts';
import {
  type AudienceDoc,
  type AudienceIndex,
  audienceIndexName,
  createAudienceIndex,
  nextAlias,
} from '../../pipeline/audience-index/index.ts';
import { type AudienceSource, rebuildAudienceIndex } from '../../pipeline/audience-index/reindex.ts';
import { run } from '../../pipeline/audience-index/reindex-cli.ts';
import { type Client, createCassandra, migrate } from '../../pipeline/cassandra/index.ts';
import { type Config, parseConfig } from '../../pipeline/config/index.ts';
import { createThreadStore } from '../../pipeline/store/thread.ts';
import { createUserStore } from '../../pipeline/store/user.ts';
import { change, uniquePrefix } from './fixtures.ts';

/**
 * `msgxc reindex` against real Cassandra and OpenSearch: users written through the stores end up in a
 * new index behind the alias, stale documents are gone, and a change applied while the rebuild runs is
 * not lost to an older snapshot.
 */
let config: Config;
let cassandra: Client;
let index: AudienceIndex;

beforeAll(async () => {
  config = parseConfig({
    ...process.env,
    MSGXC_LOG_LEVEL: 'warn',
    MSGXC_CASSANDRA_KEYSPACE: `t_reindex_${randomBytes(4).toString('hex')}`,
    MSGXC_SEARCH_INDEX_PREFIX: uniquePrefix(),
  });
  await migrate(config);
  cassandra = createCassandra(config);
  await cassandra.connect();
  index = createAudienceIndex(config, { nextAliasTtlMs: 0 });
  await index.ensureIndex();
});

afterAll(async () => {
  if (index) {
    const targets = [
      ...(await index.adapter.aliasTargets(index.alias)),
      ...(await index.adapter.aliasTargets(nextAlias(config))),
      audienceIndexName(config),
    ];
    for (const target of new Set(targets)) await index.adapter.deleteIndex(target);
    await index.close();
  }
  if (cassandra) {
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`);
    await cassandra.shutdown();
  }
});

const byUid = async (uid: string): Promise<AudienceDoc | undefined> => index.get(uid);

describe('msgxc reindex', () => {
  it('rebuilds the index from Cassandra into a new index and swaps the alias', async () => {
    const users = createUserStore(cassandra);
    const threads = createThreadStore(cassandra);
    const at = new Date(Date.now() - 60_000);
    for (let i = 0; i < 12; i++) {
      const uid = `cass-user-${String(i).padStart(2, '0')}`;
      await users.upsertUser(uid, { locale: 'en-GB', timeZone: 'Europe/London', cohorts: i % 2 ? ['odd'] : [] }, at);
      await users.enlistDevice(uid, { channel: 'apns', token: `apns-token-${i}`, platform: 'ios' }, at);
      if (i % 3 === 0) {
        await users.enlistDevice(
          uid,
          {
            channel: 'webpush',
            subscription: { endpoint: `https://push.example/${i}`, expirationTime: null, p256dh: 'p', auth: 'a' },
          },
          at,
        );
      }
      await threads.subscribe('cass-thread', uid, at);
      if (i === 0) await users.setPreferences(uid, ['~'], undefined, at);
      if (i === 1) await users.setPreferences(uid, ['apns'], 'cass-thread', at);
      await users.recordVariant(uid, 'exp-1', i % 2 ? 'b' : 'a', at);
    }
    // Stale: a user Cassandra does not know, and a known user with a subscription Cassandra does not hold.
    await index.upsert({ uid: 'ghost', tids: ['cass-thread'] });
    await index.upsert({ uid: 'cass-user-05', tids: ['stale-thread'], updatedAt: at.getTime() - 1 });
    const before = await index.adapter.aliasTargets(index.alias);

    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run(config, ['--settle-ms', '0', '--page-size', '5']);
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(0);
    expect(stderr.join('')).toMatch(/reindex \[#+\] 100% 12\/12/);

    const after = await index.adapter.aliasTargets(index.alias);
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    expect(after[0]).toMatch(new RegExp(`^${audienceIndexName(config)}-\\d{17}$`));
    expect(await index.adapter.aliasTargets(nextAlias(config))).toEqual([]);
    // Old index kept unless --delete-old.
    expect(await index.adapter.getMapping(before[0]!)).toHaveProperty('properties');

    expect(await byUid('ghost')).toBeUndefined();
    const subscribers: string[] = [];
    for await (const page of index.pages({ kind: 'thread', tid: 'cass-thread' }, { pageSize: 5 })) {
      subscribers.push(...page.map((doc) => doc.uid));
    }
    expect(subscribers).toEqual(Array.from({ length: 12 }, (_, i) => `cass-user-${String(i).padStart(2, '0')}`));

    const zero = await byUid('cass-user-00');
    expect(zero).toMatchObject({
      optedOut: true,
      channels: ['~'],
      locale: 'en-GB',
      timeZone: 'Europe/London',
      tids: ['cass-thread'],
      splits: [{ experiment: 'exp-1', variant: 'a' }],
      reachable: ['webpush', 'apns'],
      devices: {
        apns: [{ channel: 'apns', token: 'apns-token-0', platform: 'ios' }],
        webpush: [{ subscription: { endpoint: 'https://push.example/0', p256dh: 'p', auth: 'a' } }],
      },
    });
    expect(await byUid('cass-user-01')).toMatchObject({
      cohorts: ['odd'],
      threadPreferences: [{ tid: 'cass-thread', channels: ['apns'] }],
    });
    expect((await byUid('cass-user-05'))?.tids).toEqual(['cass-thread']);
  });

  it('keeps a change made while the rebuild runs, and leaves the live index alone when it fails', async () => {
    const at = Date.now();
    const source: AudienceSource = {
      count: async () => 2,
      async *snapshots() {
        // The rebuild's "-next" alias exists now: a live change reaches both indices.
        await index.applyChange(change('live-user', 'subscribe', at, { tid: 'live-thread' }));
        // The snapshot was read before that change, so it does not hold the subscription.
        yield [
          { uid: 'live-user', tids: ['old-thread'], updatedAt: at - 1_000 },
          { uid: 'other', updatedAt: at - 1_000 },
        ];
      },
    };
    const result = await rebuildAudienceIndex(config, source, { settleMs: 0, index, deleteOld: true });
    expect(result.users).toBe(2);
    expect(result.deleted).toHaveLength(1);
    expect((await byUid('live-user'))?.tids.sort()).toEqual(['live-thread', 'old-thread']);

    const live = await index.adapter.aliasTargets(index.alias);
    const failing: AudienceSource = {
      count: async () => 1,
      // biome-ignore lint/correctness/useYield: a source that fails before producing anything
      async *snapshots() {
        throw new Error('Cassandra went away');
      },
    };
    await expect(rebuildAudienceIndex(config, failing, { settleMs: 0, index })).rejects.toThrow('Cassandra went away');
    expect(await index.adapter.aliasTargets(index.alias)).toEqual(live);
    expect(await index.adapter.aliasTargets(nextAlias(config))).toEqual([]);
  });

  it('reads users from Cassandra through the stores', async () => {
    const source = cassandraAudienceSource(cassandra, { pageSize: 4 });
    expect(await source.count()).toBe(12);
    let seen = 0;
    for await (const batch of source.snapshots()) seen += batch.length;
    expect(seen).toBe(12);
  });
});
