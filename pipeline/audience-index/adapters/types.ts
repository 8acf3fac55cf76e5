/**
 * What the audience layer needs from a search engine client. An adapter only translates these calls
 * to its client's API (request shapes, PIT endpoints, response envelopes, errors); every query,
 * mapping and script lives in the layer above, so both engines run exactly the same requests.
 */

export type Json = Record<string, unknown>;

export interface PainlessScript {
  source: string;
  params: Json;
}

export type BulkOperation =
  | { op: 'index'; index: string; id: string; document: Json }
  | {
      op: 'update';
      index: string;
      id: string;
      script: PainlessScript;
      /** Run the script against this document when none exists yet (scripted upsert). */
      upsert: Json;
      retryOnConflict: number;
    }
  | { op: 'delete'; index: string; id: string };

export interface BulkItemResult {
  id: string;
  status: number;
  /** created | updated | deleted | noop | not_found, as the engine reports it. */
  result: string | undefined;
  error: { type: string; reason: string } | undefined;
}

export interface PitSearchRequest {
  pit: { id: string; keepAlive: string };
  query: Json;
  sort: Json[];
  size: number;
  searchAfter: unknown[] | undefined;
  /** false for ids only (a raw scan), true for whole documents, or whole documents less some fields. */
  source: boolean | { excludes: string[] };
}

export interface SearchHit {
  id: string;
  source: Json | undefined;
  sort: unknown[];
}

export interface PitSearchResponse {
  /** The engine may hand back a new PIT id with each page; the next request must use the newest. */
  pitId: string;
  hits: SearchHit[];
}

export type AliasAction = { add: { index: string; alias: string } } | { remove: { index: string; alias: string } };

export interface SearchAdapter {
  readonly engine: 'opensearch' | 'elasticsearch';
  /** Sort clauses appended after the layer's own sort to make it total (Elasticsearch: `_shard_doc`). */
  readonly tiebreaker: Json[];
  ping(): Promise<void>;
  /** Creates the index; 'exists' when it was there already (another process won the race). */
  createIndex(
    index: string,
    body: { settings: Json; mappings: Json; aliases?: string[] },
  ): Promise<'created' | 'exists'>;
  deleteIndex(index: string): Promise<void>;
  putMapping(index: string, mappings: Json): Promise<void>;
  getMapping(index: string): Promise<Json>;
  /** The indices an alias points at; empty when the alias does not exist. */
  aliasTargets(alias: string): Promise<string[]>;
  /** Applied atomically, so readers see the old index or the new one, never neither. */
  updateAliases(actions: AliasAction[]): Promise<void>;
  indexDocument(index: string, id: string, document: Json, options?: { refresh?: boolean }): Promise<void>;
  getDocument(index: string, id: string): Promise<Json | undefined>;
  /** Documents by id in one multi-get request, in the order asked; undefined where there is none. */
  getDocuments(index: string, ids: string[]): Promise<(Json | undefined)[]>;
  /** True when a document was deleted, false when there was none. */
  deleteDocument(index: string, id: string, options?: { refresh?: boolean }): Promise<boolean>;
  /** `requireAlias`: every target must be an alias, so a write never auto-creates an index. */
  bulk(operations: BulkOperation[], options?: { refresh?: boolean; requireAlias?: boolean }): Promise<BulkItemResult[]>;
  openPit(index: string, keepAlive: string): Promise<string>;
  closePit(id: string): Promise<void>;
  search(request: PitSearchRequest): Promise<PitSearchResponse>;
  count(index: string, query: Json): Promise<number>;
  refresh(index: string): Promise<void>;
  close(): Promise<void>;
}
