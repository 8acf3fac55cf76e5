import type { Config } from '../config/index.ts';

/**
 * The audience index's explicit mappings. `dynamic: strict` turns a stray field into an indexing
 * error instead of a silently guessed mapping. Fields the queries filter on are keywords; device
 * addresses are kept in `_source` for fanout but neither indexed nor given doc values: nobody
 * searches by token, and keeping them out of the inverted index keeps it small.
 *
 * Bump MAPPING_VERSION on a breaking mapping change; `msgxc reindex` builds the new index and swaps
 * the alias. Additive changes are applied in place by `ensureIndex` (put mapping).
 */
export const MAPPING_VERSION = 1;

const keyword = { type: 'keyword' } as const;
const storedOnly = { type: 'keyword', index: false, doc_values: false } as const;

/** One `Device` record as the schemas define it; the Web Push subscription (endpoint and keys) is opaque. */
const device = {
  properties: {
    channel: storedOnly,
    id: storedOnly,
    token: storedOnly,
    address: storedOnly,
    platform: storedOnly,
    subscription: { type: 'object', enabled: false },
  },
} as const;

const epochMillis = { type: 'date', format: 'epoch_millis' } as const;

export const audienceMappings = {
  dynamic: 'strict',
  properties: {
    uid: keyword,
    // hash(uid) in [0, BUCKETS): lets several fanout consumers split one audience by range, stably.
    bucket: { type: 'integer' },
    devices: {
      properties: {
        ws: { type: 'boolean' },
        webpush: device,
        apns: device,
        fcm: device,
        sms: device,
        email: device,
      },
    },
    channels: keyword,
    threadPreferences: { properties: { tid: storedOnly, channels: storedOnly } },
    tids: keyword,
    cohorts: keyword,
    // Nested so "experiment X, variant B" matches one split, not X from one pair and B from another.
    splits: { type: 'nested', properties: { experiment: keyword, variant: keyword } },
    locale: keyword,
    timeZone: keyword,
    lastSeen: epochMillis,
    updatedAt: epochMillis,
    reachable: keyword,
    optedOut: { type: 'boolean' },
    // Bookkeeping of the apply script (see script.ts); never returned to callers.
    clocks: { type: 'object', enabled: false },
    floor: { type: 'long', index: false },
    deletedAt: epochMillis,
  },
} as const;

/** Fields kept for the write path only. */
export const INTERNAL_FIELDS = ['clocks', 'floor', 'deletedAt'] as const;

export function audienceSettings(config: Pick<Config, 'search'>) {
  return {
    number_of_shards: config.search.shards,
    number_of_replicas: config.search.replicas,
  };
}

/** The alias every reader and writer uses. */
export function audienceAlias(config: Pick<Config, 'search'>): string {
  return `${config.search.indexPrefix}-audience`;
}

/** While `msgxc reindex` builds a new index, this alias points at it so live changes reach it too. */
export function nextAlias(config: Pick<Config, 'search'>): string {
  return `${audienceAlias(config)}-next`;
}

/** The first index of the current mapping version. */
export function audienceIndexName(config: Pick<Config, 'search'>): string {
  return `${audienceAlias(config)}-v${MAPPING_VERSION}`;
}

/** A fresh index for a rebuild: same mapping version, distinguished by when it was built. */
export function rebuildIndexName(config: Pick<Config, 'search'>, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 17);
  return `${audienceIndexName(config)}-${stamp}`;
}
