import { bulkItem, bulkLines, isAlreadyExists, type RawBulkItem, searchError, statusOf } from './shared.ts';
import type { AliasAction, Json, PitSearchResponse, SearchAdapter } from './types.ts';

/**
 * The requests an engine's client makes, each resolving to the bare response body or rejecting with the
 * client's own error. Everything else an adapter does (error translation, which 404s are answers, request
 * bodies, response shapes) is the same for both engines and lives in `searchAdapter`.
 */
export interface EngineCalls {
  info(): Promise<unknown>;
  createIndex(index: string, body: { settings: Json; mappings: Json; aliases: Record<string, Json> }): Promise<unknown>;
  deleteIndex(index: string): Promise<unknown>;
  putMapping(index: string, mappings: Json): Promise<unknown>;
  getMapping(index: string): Promise<unknown>;
  getAlias(alias: string): Promise<unknown>;
  updateAliases(actions: AliasAction[]): Promise<unknown>;
  index(index: string, id: string, document: Json, refresh: boolean): Promise<unknown>;
  get(index: string, id: string): Promise<unknown>;
  /** Multi-get of documents by id from one index (or single-index alias). */
  mget(index: string, ids: string[]): Promise<unknown>;
  delete(index: string, id: string, refresh: boolean): Promise<unknown>;
  /** `lines`: the NDJSON action/body pairs. */
  bulk(lines: Json[], refresh: boolean, requireAlias: boolean): Promise<unknown>;
  /** Resolves to the new point in time's id. */
  openPit(index: string, keepAlive: string): Promise<string>;
  closePit(id: string): Promise<unknown>;
  search(body: Json): Promise<unknown>;
  count(index: string, query: Json): Promise<unknown>;
  refresh(index: string): Promise<unknown>;
  close(): Promise<unknown>;
}

type RawSearchResponse = { pit_id?: string; hits: { hits: { _id: string; _source?: Json; sort?: unknown[] }[] } };

type Call = <T>(operation: string, run: () => Promise<unknown>) => Promise<T>;
type Unless404 = <T>(operation: string, run: () => Promise<T>, notFound: T) => Promise<T>;

/** The engine's errors as MsgxcError, except the 404s `unless404` turns into answers. */
function requests(engine: SearchAdapter['engine']): { call: Call; unless404: Unless404 } {
  return {
    async call<T>(operation: string, run: () => Promise<unknown>): Promise<T> {
      try {
        return (await run()) as T;
      } catch (error) {
        throw searchError(engine, operation, error);
      }
    },
    /** A request whose 404 is an answer (`notFound`) rather than a failure. */
    async unless404<T>(operation: string, run: () => Promise<T>, notFound: T): Promise<T> {
      try {
        return await run();
      } catch (error) {
        if (statusOf(error) === 404) return notFound;
        throw searchError(engine, operation, error);
      }
    },
  };
}

export function searchAdapter(engine: SearchAdapter['engine'], tiebreaker: Json[], calls: EngineCalls): SearchAdapter {
  const { call, unless404 } = requests(engine);
  return {
    engine,
    tiebreaker,
    async ping() {
      await call('ping', () => calls.info());
    },
    ...indexMethods(engine, calls, call, unless404),
    ...documentMethods(calls, call, unless404),
    ...searchMethods(calls, call, unless404),
    async close() {
      await calls.close();
    },
  };
}

type IndexMethods = Pick<
  SearchAdapter,
  'createIndex' | 'deleteIndex' | 'putMapping' | 'getMapping' | 'aliasTargets' | 'updateAliases' | 'refresh'
>;

function indexMethods(
  engine: SearchAdapter['engine'],
  calls: EngineCalls,
  call: Call,
  unless404: Unless404,
): IndexMethods {
  return {
    async createIndex(index, body) {
      try {
        await calls.createIndex(index, {
          settings: body.settings,
          mappings: body.mappings,
          aliases: Object.fromEntries((body.aliases ?? []).map((alias) => [alias, {}])),
        });
        return 'created';
      } catch (error) {
        if (isAlreadyExists(error)) return 'exists';
        throw searchError(engine, 'create index', error);
      }
    },

    async deleteIndex(index) {
      await unless404('delete index', () => calls.deleteIndex(index), undefined);
    },

    async putMapping(index, mappings) {
      await call('put mapping', () => calls.putMapping(index, mappings));
    },

    async getMapping(index) {
      const body = await call<Record<string, { mappings: Json }>>('get mapping', () => calls.getMapping(index));
      return Object.values(body)[0]?.mappings ?? {};
    },

    async aliasTargets(alias) {
      return unless404('get alias', async () => Object.keys((await calls.getAlias(alias)) as Json).sort(), []);
    },

    async updateAliases(actions) {
      await call('update aliases', () => calls.updateAliases(actions));
    },

    async refresh(index) {
      await call('refresh', () => calls.refresh(index));
    },
  };
}

type DocumentMethods = Pick<
  SearchAdapter,
  'indexDocument' | 'getDocument' | 'getDocuments' | 'deleteDocument' | 'bulk'
>;

function documentMethods(calls: EngineCalls, call: Call, unless404: Unless404): DocumentMethods {
  return {
    async indexDocument(index, id, document, { refresh = false } = {}) {
      await call('index', () => calls.index(index, id, document, refresh));
    },

    async getDocument(index, id) {
      return unless404('get', async () => ((await calls.get(index, id)) as { _source?: Json })._source, undefined);
    },

    async getDocuments(index, ids) {
      if (ids.length === 0) return [];
      const body = await call<{ docs: { found?: boolean; _source?: Json }[] }>('multi-get', () =>
        calls.mget(index, ids),
      );
      return body.docs.map((doc) => (doc.found ? doc._source : undefined));
    },

    async deleteDocument(index, id, { refresh = false } = {}) {
      return unless404(
        'delete',
        async () => {
          await calls.delete(index, id, refresh);
          return true;
        },
        false,
      );
    },

    async bulk(operations, { refresh = false, requireAlias = false } = {}) {
      if (operations.length === 0) return [];
      const body = await call<{ items: Record<string, RawBulkItem>[] }>('bulk', () =>
        calls.bulk(operations.flatMap(bulkLines), refresh, requireAlias),
      );
      return body.items.map(bulkItem);
    },
  };
}

type SearchMethods = Pick<SearchAdapter, 'openPit' | 'closePit' | 'search' | 'count'>;

function searchMethods(calls: EngineCalls, call: Call, unless404: Unless404): SearchMethods {
  return {
    async openPit(index, keepAlive) {
      return call<string>('open point in time', () => calls.openPit(index, keepAlive));
    },

    async closePit(id) {
      // Already expired or closed (404): the goal (no open PIT) holds.
      await unless404('close point in time', () => calls.closePit(id), undefined);
    },

    async search(request): Promise<PitSearchResponse> {
      const body = await call<RawSearchResponse>('search', () =>
        calls.search({
          pit: { id: request.pit.id, keep_alive: request.pit.keepAlive },
          query: request.query,
          sort: request.sort,
          size: request.size,
          _source: request.source,
          track_total_hits: false,
          ...(request.searchAfter ? { search_after: request.searchAfter } : {}),
        }),
      );
      return {
        pitId: body.pit_id ?? request.pit.id,
        hits: body.hits.hits.map((hit) => ({ id: hit._id, source: hit._source, sort: hit.sort ?? [] })),
      };
    },

    async count(index, query) {
      const body = await call<{ count: number }>('count', () => calls.count(index, query));
      return body.count;
    },
  };
}
