import { randomUUID } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import { type AudienceSnapshot, createAudienceIndex } from '../pipeline/audience-index/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import { benchUser, loadUsers, pageAll, rate, timedScan } from './audience-users.ts';
import { describeWarmup, settledJit, warmServers } from './harness/warm-servers.ts';
import { reportFigure } from './results.ts';

/**
 * Audience paging rate: index N users (bulk), then page the whole index through the audience layer
 * (`everyone`, page size 1000: full documents, devices sealed, as fanout reads them) and through the raw client
 * (PIT + search_after on the same sort with `_source: false`, the cheapest scan the engine offers),
 * in the same run, alternating, best of a few rounds. A raw scan with `_source` is printed too, so the
 * ratio can be read as "cost of fetching documents" versus "cost of the layer".
 *
 *   npm run bench -- audience [users=100000] [rounds=3]
 */
export interface AudienceBenchResult {
  users: number;
  indexSeconds: number;
  layerDocsPerSecond: number;
  rawIdsDocsPerSecond: number;
  rawSourceDocsPerSecond: number;
}

const PAGE_SIZE = 1000;

export async function run(config: Config, args: string[] = []): Promise<number> {
  const options = Object.fromEntries(args.map((arg) => arg.split('=', 2) as [string, string]));
  const users = Number(options.users ?? 100_000);
  const rounds = Number(options.rounds ?? 3);
  if (!Number.isInteger(users) || users < 1 || !Number.isInteger(rounds) || rounds < 1) {
    console.error('usage: npm run bench -- audience [users=100000] [rounds=3]');
    return 2;
  }
  if (config.search.engine !== 'opensearch') {
    console.error('bench audience: the raw baseline uses the OpenSearch client; set MSGXC_SEARCH_ENGINE=opensearch');
    return 2;
  }
  const result = await benchAudience(config, { users, rounds });
  console.log(
    [
      `audience paging over ${result.users} users (page size ${PAGE_SIZE}, best of ${rounds}):`,
      `  indexing (bulk scripted upserts): ${rate(result.users / result.indexSeconds)} docs/s`,
      `  layer  pages(everyone), documents: ${rate(result.layerDocsPerSecond)} docs/s`,
      `  raw    PIT scan, _source: false:   ${rate(result.rawIdsDocsPerSecond)} docs/s`,
      `  raw    PIT scan, _source: true:    ${rate(result.rawSourceDocsPerSecond)} docs/s`,
      `  ratio layer / raw ids-only scan:   ${(result.layerDocsPerSecond / result.rawIdsDocsPerSecond).toFixed(2)}`,
      `  ratio layer / raw scan with source: ${(result.layerDocsPerSecond / result.rawSourceDocsPerSecond).toFixed(2)}`,
    ].join('\n'),
  );
  const ratio = result.layerDocsPerSecond / result.rawSourceDocsPerSecond;
  reportFigure({
    bench: 'audience',
    figure: `paging ${result.users} users through the index layer`,
    value: result.layerDocsPerSecond,
    unit: 'docs/s',
    baseline: { name: 'raw PIT scan with _source', value: result.rawSourceDocsPerSecond, unit: 'docs/s' },
    ratio,
    goal: '≥ 0.8',
    met: ratio >= 0.8,
  });
  return 0;
}

export async function benchAudience(
  baseConfig: Config,
  options: { users: number; rounds: number },
): Promise<AudienceBenchResult> {
  const prefix = `msgxc-bench-${randomUUID().slice(0, 8)}`;
  const config: Config = { ...baseConfig, logLevel: 'warn', search: { ...baseConfig.search, indexPrefix: prefix } };
  const index = createAudienceIndex(config);
  const raw = new Client({ node: config.search.url, requestTimeout: 120_000 });
  try {
    await index.ensureIndex();
    const indexSeconds = await loadUsers(index, options.users, audienceUser);
    await index.refresh();

    let layer = 0;
    let rawIds = 0;
    let rawSource = 0;
    // The scans, unmeasured, until the engine has compiled their paths: on a fresh stack the first run's ratio
    // was 0.75 and the third's 0.89 (harness/warm-servers.ts).
    const warmup = await warmServers(
      async () => {
        await pageAll(index, PAGE_SIZE);
        await rawScan(raw, index.alias, false);
        await rawScan(raw, index.alias, true);
      },
      { maxSeconds: 60, settledJitCores: settledJit },
    );
    console.log(describeWarmup(warmup, settledJit));
    for (let round = 0; round < options.rounds; round++) {
      layer = Math.max(layer, await timedScan(options.users, () => pageAll(index, PAGE_SIZE)));
      rawIds = Math.max(rawIds, await timedScan(options.users, () => rawScan(raw, index.alias, false)));
      rawSource = Math.max(rawSource, await timedScan(options.users, () => rawScan(raw, index.alias, true)));
    }
    return {
      users: options.users,
      indexSeconds,
      layerDocsPerSecond: layer,
      rawIdsDocsPerSecond: rawIds,
      rawSourceDocsPerSecond: rawSource,
    };
  } finally {
    for (const target of await index.adapter.aliasTargets(index.alias)) await index.adapter.deleteIndex(target);
    await raw.close();
    await index.close();
  }
}

/** The shared bench audience, each user also in one arm of an experiment split. */
function audienceUser(i: number, at: number): AudienceSnapshot {
  return { ...benchUser(i, at), splits: [{ experiment: 'onboarding', variant: i % 2 === 0 ? 'a' : 'b' }] };
}

/** The same walk written straight against the client: PIT, uid sort, search_after. */
async function rawScan(client: Client, alias: string, source: boolean): Promise<number> {
  const pit = (await client.createPit({ index: [alias], keep_alive: '2m' })).body.pit_id;
  let seen = 0;
  try {
    let after: unknown[] | undefined;
    for (;;) {
      const { body } = await client.search({
        body: {
          pit: { id: pit, keep_alive: '2m' },
          sort: [{ uid: 'asc' }],
          size: PAGE_SIZE,
          _source: source,
          track_total_hits: false,
          ...(after ? { search_after: after } : {}),
        } as never,
      });
      const hits = (body as { hits: { hits: { sort: unknown[] }[] } }).hits.hits;
      seen += hits.length;
      if (hits.length < PAGE_SIZE) break;
      after = hits[hits.length - 1]?.sort;
    }
  } finally {
    await client.deletePit({ body: { pit_id: [pit] } });
  }
  return seen;
}
