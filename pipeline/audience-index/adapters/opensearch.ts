import { Client } from '@opensearch-project/opensearch';
import { searchAdapter } from './engine.ts';
import type { SearchAdapter } from './types.ts';

/**
 * `@opensearch-project/opensearch` (v3). Requests take a `body`, responses come wrapped in
 * `{ body, statusCode }`. Point in time is `POST /<index>/_search/point_in_time?keep_alive=` and
 * `DELETE /_search/point_in_time`. OpenSearch 2.x has no `_shard_doc` sort (added in 3.3), so the
 * tiebreaker is empty: the layer sorts on `uid`, which is also the document id, hence already total.
 */
export function createOpenSearchAdapter(options: { url: string; requestTimeoutMs?: number }): SearchAdapter {
  const client = new Client({ node: options.url, requestTimeout: options.requestTimeoutMs ?? 60_000 });
  const bodyOf = async (response: Promise<{ body: unknown }>) => (await response).body;

  return searchAdapter('opensearch', [], {
    info: () => bodyOf(client.info()),
    createIndex: (index, body) => bodyOf(client.indices.create({ index, body })),
    deleteIndex: (index) => bodyOf(client.indices.delete({ index })),
    putMapping: (index, mappings) => bodyOf(client.indices.putMapping({ index, body: mappings })),
    getMapping: (index) => bodyOf(client.indices.getMapping({ index })),
    getAlias: (alias) => bodyOf(client.indices.getAlias({ name: alias })),
    updateAliases: (actions) => bodyOf(client.indices.updateAliases({ body: { actions } })),
    index: (index, id, document, refresh) => bodyOf(client.index({ index, id, body: document, refresh })),
    get: (index, id) => bodyOf(client.get({ index, id })),
    mget: (index, ids) => bodyOf(client.mget({ index, body: { ids } })),
    delete: (index, id, refresh) => bodyOf(client.delete({ index, id, refresh })),
    bulk: (lines, refresh, requireAlias) => bodyOf(client.bulk({ body: lines, refresh, require_alias: requireAlias })),
    openPit: async (index, keepAlive) =>
      ((await client.createPit({ index: [index], keep_alive: keepAlive })).body as { pit_id: string }).pit_id,
    closePit: (id) => bodyOf(client.deletePit({ body: { pit_id: [id] } })),
    search: (body) => bodyOf(client.search({ body: body as never })),
    count: (index, query) => bodyOf(client.count({ index, body: { query } })),
    refresh: (index) => bodyOf(client.indices.refresh({ index })),
    close: () => client.close(),
  });
}
