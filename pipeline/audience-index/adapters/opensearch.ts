import { Client } from '@opensearch-project/opensearch';
import { bulkItem, bulkLines, isAlreadyExists, type RawBulkItem, searchError, statusOf } from './shared.ts';
import type { Json, PitSearchResponse, SearchAdapter } from './types.ts';

/**
 * `@opensearch-project/opensearch` (v3). Requests take a `body`, responses come wrapped in
 * `{ body, statusCode }`. Point in time is `POST /<index>/_search/point_in_time?keep_alive=` and
 * `DELETE /_search/point_in_time`. OpenSearch 2.x has no `_shard_doc` sort (added in 3.3), so the
 * tiebreaker is empty: the layer sorts on `uid`, which is also the document id, hence already total.
 */
export function createOpenSearchAdapter(options: { url: string; requestTimeoutMs?: number }): SearchAdapter {
  const client = new Client({ node: options.url, requestTimeout: options.requestTimeoutMs ?? 60_000 });
  const engine = 'opensearch';

  async function call<T>(operation: string, run: () => Promise<{ body: unknown }>): Promise<T> {
    try {
      return (await run()).body as T;
    } catch (error) {
      throw searchError(engine, operation, error);
    }
  }

  return {
    engine,
    tiebreaker: [],

    async ping() {
      await call('ping', () => client.info());
    },

    async createIndex(index, body) {
      try {
        await client.indices.create({
          index,
          body: {
            settings: body.settings,
            mappings: body.mappings,
            aliases: Object.fromEntries((body.aliases ?? []).map((alias) => [alias, {}])),
          },
        });
        return 'created';
      } catch (error) {
        if (isAlreadyExists(error)) return 'exists';
        throw searchError(engine, 'create index', error);
      }
    },

    async deleteIndex(index) {
      try {
        await client.indices.delete({ index });
      } catch (error) {
        if (statusOf(error) !== 404) throw searchError(engine, 'delete index', error);
      }
    },

    async putMapping(index, mappings) {
      await call('put mapping', () => client.indices.putMapping({ index, body: mappings }));
    },

    async getMapping(index) {
      const body = await call<Record<string, { mappings: Json }>>('get mapping', () =>
        client.indices.getMapping({ index }),
      );
      return Object.values(body)[0]?.mappings ?? {};
    },

    async aliasTargets(alias) {
      try {
        const { body } = await client.indices.getAlias({ name: alias });
        return Object.keys(body as Json).sort();
      } catch (error) {
        if (statusOf(error) === 404) return [];
        throw searchError(engine, 'get alias', error);
      }
    },

    async updateAliases(actions) {
      await call('update aliases', () => client.indices.updateAliases({ body: { actions } }));
    },

    async indexDocument(index, id, document, { refresh = false } = {}) {
      await call('index', () => client.index({ index, id, body: document, refresh }));
    },

    async getDocument(index, id) {
      try {
        const { body } = await client.get({ index, id });
        return (body as { _source?: Json })._source;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw searchError(engine, 'get', error);
      }
    },

    async deleteDocument(index, id, { refresh = false } = {}) {
      try {
        await client.delete({ index, id, refresh });
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw searchError(engine, 'delete', error);
      }
    },

    async bulk(operations, { refresh = false, requireAlias = false } = {}) {
      if (operations.length === 0) return [];
      const body = await call<{ items: Record<string, RawBulkItem>[] }>('bulk', () =>
        client.bulk({ body: operations.flatMap(bulkLines), refresh, require_alias: requireAlias }),
      );
      return body.items.map(bulkItem);
    },

    async openPit(index, keepAlive) {
      const body = await call<{ pit_id: string }>('open point in time', () =>
        client.createPit({ index: [index], keep_alive: keepAlive }),
      );
      return body.pit_id;
    },

    async closePit(id) {
      try {
        await client.deletePit({ body: { pit_id: [id] } });
      } catch (error) {
        // Already expired or closed: the goal (no open PIT) holds.
        if (statusOf(error) !== 404) throw searchError(engine, 'close point in time', error);
      }
    },

    async search(request): Promise<PitSearchResponse> {
      const body = await call<{ pit_id?: string; hits: { hits: { _id: string; _source?: Json; sort?: unknown[] }[] } }>(
        'search',
        () =>
          client.search({
            body: {
              pit: { id: request.pit.id, keep_alive: request.pit.keepAlive },
              query: request.query,
              sort: request.sort,
              size: request.size,
              _source: request.source,
              track_total_hits: false,
              ...(request.searchAfter ? { search_after: request.searchAfter } : {}),
            } as never,
          }),
      );
      return {
        pitId: body.pit_id ?? request.pit.id,
        hits: body.hits.hits.map((hit) => ({ id: hit._id, source: hit._source, sort: hit.sort ?? [] })),
      };
    },

    async count(index, query) {
      const body = await call<{ count: number }>('count', () => client.count({ index, body: { query } }));
      return body.count;
    },

    async refresh(index) {
      await call('refresh', () => client.indices.refresh({ index }));
    },

    async close() {
      await client.close();
    },
  };
}
