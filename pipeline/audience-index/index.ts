import type { AudienceChange } from '../../schemas/types.generated.ts';
import type { Config } from '../config/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { createSearchAdapter } from './adapters/index.ts';
import type { Json, SearchAdapter } from './adapters/types.ts';
import { changeToScriptInput, snapshotToScriptInput } from './changes.ts';
import { createDeviceSecrets, type DeviceSecrets, openSourceDevices } from './device-secrets.ts';
import { LOOKUP_MAX_UIDS, lookupPages, lookupUids } from './lookup.ts';
import {
  audienceAlias,
  audienceIndexName,
  audienceMappings,
  audienceSettings,
  INTERNAL_FIELDS,
  nextAlias,
} from './mapping.ts';
import { walkPit } from './paging.ts';
import { querySegments, UID_SORT } from './queries.ts';
import type { AudienceDoc, AudienceQuery, AudienceSnapshot, PageOptions } from './types.ts';
import { createAudienceWriter, type WriteSummary } from './writer.ts';

export { createElasticsearchAdapter, createOpenSearchAdapter, createSearchAdapter } from './adapters/index.ts';
export * from './bucket.ts';
export * from './mapping.ts';
export * from './types.ts';
export type { WriteSummary } from './writer.ts';
export type { SearchAdapter };

/**
 * The audience index: one document per user, read by fanout a page at a time and written by the
 * audience stage and `msgxc reindex`. All queries, mappings and scripts live here; the engine client
 * is an adapter (OpenSearch or Elasticsearch, by `config.search.engine`).
 *
 * Writes go through aliases only: the live alias and, while `msgxc reindex` builds a new index, the
 * `-next` alias pointing at it, so changes made during a rebuild reach the new index too.
 */
export interface AudienceIndex {
  readonly alias: string;
  readonly adapter: SearchAdapter;
  /** Creates the first index behind the alias, or adds new mapping fields to the live one. */
  ensureIndex(): Promise<void>;
  /** Merges a whole user as read from the source of truth at `updatedAt` (default now). */
  upsert(snapshot: AudienceSnapshot): Promise<void>;
  /** Bulk `upsert`; `index` writes into one concrete index instead (reindex). */
  upsertMany(snapshots: readonly AudienceSnapshot[], options?: { index?: string }): Promise<WriteSummary>;
  /** Forgets a user: the document becomes a tombstone no query returns and no older change revives. */
  remove(uid: string, at?: number): Promise<void>;
  applyChange(change: AudienceChange): Promise<WriteSummary>;
  /** Applies a batch of changes in one bulk request per chunk, in order. */
  applyChanges(changes: readonly AudienceChange[]): Promise<WriteSummary>;
  get(uid: string): Promise<AudienceDoc | undefined>;
  /** The audience a page at a time; breaking out of the loop closes the point in time. */
  pages(query: AudienceQuery, options: PageOptions): AsyncIterable<AudienceDoc[]>;
  /** How many users `pages` would return now (e.g. to decide whether to slice an audience). */
  count(query: AudienceQuery, options?: Omit<PageOptions, 'pageSize'>): Promise<number>;
  /** Makes writes visible to search now (tests, reindex); normal operation relies on the refresh interval. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface AudienceIndexOptions {
  adapter?: SearchAdapter;
  log?: Logger;
  /** How long the existence of the `-next` alias is cached between writes. */
  nextAliasTtlMs?: number;
}

export const NEXT_ALIAS_TTL_MS = 5_000;

export function createAudienceIndex(config: Config, options: AudienceIndexOptions = {}): AudienceIndex {
  const adapter = options.adapter ?? createSearchAdapter(config);
  const log = options.log ?? createLogger(config, 'audience-index');
  // Throws at start-up in production without MSGXC_DEVICE_KEYS: device tokens are never stored in clear.
  const secrets = createDeviceSecrets(config.devices.keys);
  const publicDoc = (source: Json, channels: ReadonlySet<string> | null = null, sealed = false) =>
    openedDoc(source, sealed ? null : secrets, log, channels);
  const alias = audienceAlias(config);
  const next = nextAlias(config);
  const nextTtl = options.nextAliasTtlMs ?? NEXT_ALIAS_TTL_MS;
  const write = createAudienceWriter(adapter, alias, next, nextTtl, secrets);

  async function* pages(query: AudienceQuery, pageOptions: PageOptions): AsyncGenerator<AudienceDoc[]> {
    const reader = {
      adapter,
      alias,
      log,
      keepAlive: config.search.pitKeepAlive,
      resumeWithinMs: config.search.resumeWithinMs,
    };
    const channels = pageOptions.devicesOn ? new Set<string>(pageOptions.devicesOn) : null;
    const sealed = pageOptions.sealed === true;
    for await (const sources of sourcePages(reader, query, pageOptions)) {
      yield sources.map((source) => publicDoc(source, channels, sealed));
    }
  }

  return {
    alias,
    adapter,

    ensureIndex: () => ensureAudienceIndex(config, adapter, alias, log),

    async upsert(snapshot) {
      await write([snapshotToScriptInput(snapshot)]);
    },

    async upsertMany(snapshots, { index } = {}) {
      const now = Date.now();
      return write(
        snapshots.map((snapshot) => snapshotToScriptInput(snapshot, now)),
        index,
      );
    },

    async remove(uid, at = Date.now()) {
      await write([{ mode: 'delete', uid, at }]);
    },

    async applyChange(change) {
      return write([changeToScriptInput(change)]);
    },

    async applyChanges(changes) {
      return write(changes.map(changeToScriptInput));
    },

    async get(uid) {
      const source = await adapter.getDocument(alias, uid);
      if (!source || source.deletedAt != null) return undefined;
      return publicDoc(source);
    },

    pages,

    async count(query, countOptions = {}) {
      let total = 0;
      // uid segments are disjoint (the list is de-duplicated before it is cut), so counts add up.
      for (const segment of querySegments(query, countOptions)) total += await adapter.count(alias, segment);
      return total;
    },

    async refresh() {
      await adapter.refresh(alias);
    },

    async close() {
      await adapter.close();
    },
  };
}

/**
 * Drops the write path's bookkeeping from a fetched `_source`, keeps the devices of `channels` only, and opens
 * their secrets unless `secrets` is null (a sealed page): in place, the object is ours. Done here rather than
 * with `_source.excludes`, which made the engine re-serialise every document and cost about half the paging
 * rate in the benchmark.
 */
function openedDoc(
  source: Json,
  secrets: DeviceSecrets | null,
  log: Logger,
  channels: ReadonlySet<string> | null,
): AudienceDoc {
  for (const field of INTERNAL_FIELDS) delete source[field];
  openSourceDevices(
    source,
    secrets,
    (uid, device) =>
      log.warn({ uid, channel: device.channel, deviceId: device.id }, 'device secret does not open: device left out'),
    channels,
  );
  return source as unknown as AudienceDoc;
}

/** Creates the first index behind the alias, or adds new mapping fields to the live one. */
async function ensureAudienceIndex(config: Config, adapter: SearchAdapter, alias: string, log: Logger): Promise<void> {
  let targets = await adapter.aliasTargets(alias);
  if (targets.length === 0) {
    const index = audienceIndexName(config);
    const outcome = await adapter.createIndex(index, {
      settings: audienceSettings(config),
      mappings: audienceMappings,
      aliases: [alias],
    });
    if (outcome === 'created') {
      log.info({ index, alias }, 'created the audience index');
      return;
    }
    // Another process created it at the same moment, or an earlier run stopped before the alias.
    targets = await adapter.aliasTargets(alias);
    if (targets.length === 0) await adapter.updateAliases([{ add: { index, alias } }]);
    targets = [index];
  }
  // Additive mapping changes land in place; a conflicting one fails here and needs `msgxc reindex`.
  for (const index of targets) await adapter.putMapping(index, audienceMappings);
}

interface IndexReader {
  adapter: SearchAdapter;
  alias: string;
  log: Logger;
  /** The point in time's default keep-alive between two pages. */
  keepAlive: string;
  /** A walk cut by a search outage resumes within this long (see paging.ts). */
  resumeWithinMs: number;
}

/** A short uid list by id (no point in time); anything else paged under a point in time. */
function sourcePages(reader: IndexReader, query: AudienceQuery, pageOptions: PageOptions): AsyncIterable<Json[]> {
  if (query.kind === 'uids') {
    const uids = lookupUids(query.uids, pageOptions);
    if (uids.length <= LOOKUP_MAX_UIDS) return lookupPages(reader.adapter, reader.alias, uids, pageOptions);
  }
  return pitPages(reader, query, pageOptions);
}

async function* pitPages(
  { adapter, alias, log, keepAlive, resumeWithinMs }: IndexReader,
  query: AudienceQuery,
  pageOptions: PageOptions,
): AsyncGenerator<Json[]> {
  const walk = walkPit({
    adapter,
    index: alias,
    segments: querySegments(query, pageOptions),
    sort: [...UID_SORT, ...adapter.tiebreaker],
    pageSize: pageOptions.pageSize,
    source: true,
    keepAlive: pageOptions.keepAlive ?? keepAlive,
    resumeWithinMs,
    signal: pageOptions.signal,
    pacer: pageOptions.pacer,
    log,
  });
  for await (const hits of walk) yield hits.map((hit) => hit.source ?? {});
}
