import { Client } from '@elastic/elasticsearch';
import { searchAdapter } from './engine.ts';
import type { Json, SearchAdapter } from './types.ts';

/**
 * `@elastic/elasticsearch` v8. Request bodies are flattened into the top-level parameters and
 * responses are the bare body. Point in time is `POST /<index>/_pit` and `DELETE /_pit`; a PIT
 * search sorts on `_shard_doc` last, the cheapest total order Elasticsearch offers.
 * The client refuses to talk to OpenSearch (product check), so this adapter needs a real Elasticsearch.
 */
export function createElasticsearchAdapter(options: { url: string; requestTimeoutMs?: number }): SearchAdapter {
  const client = new Client({ node: options.url, requestTimeout: options.requestTimeoutMs ?? 60_000 });

  return searchAdapter('elasticsearch', [{ _shard_doc: 'asc' }], {
    info: () => client.info(),
    createIndex: (index, body) => client.indices.create({ index, ...body } as never),
    deleteIndex: (index) => client.indices.delete({ index }),
    putMapping: (index, mappings) => client.indices.putMapping({ index, ...mappings } as never),
    getMapping: (index) => client.indices.getMapping({ index }),
    getAlias: (alias) => client.indices.getAlias({ name: alias }),
    updateAliases: (actions) => client.indices.updateAliases({ actions }),
    index: (index, id, document, refresh) => client.index({ index, id, document, refresh }),
    get: (index, id) => client.get<Json>({ index, id }),
    mget: (index, ids) => client.mget<Json>({ index, ids }),
    delete: (index, id, refresh) => client.delete({ index, id, refresh }),
    bulk: (lines, refresh, requireAlias) =>
      client.bulk({ operations: lines as never, refresh, require_alias: requireAlias }),
    openPit: async (index, keepAlive) => (await client.openPointInTime({ index, keep_alive: keepAlive })).id,
    closePit: (id) => client.closePointInTime({ id }),
    search: (body) => client.search(body as never),
    count: (index, query) => client.count({ index, query } as never),
    refresh: (index) => client.indices.refresh({ index }),
    close: () => client.close(),
  });
}
