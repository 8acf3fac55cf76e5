import type { Config } from '../../config/index.ts';
import { createElasticsearchAdapter } from './elasticsearch.ts';
import { createOpenSearchAdapter } from './opensearch.ts';
import type { SearchAdapter } from './types.ts';

export type * from './types.ts';
export { createElasticsearchAdapter, createOpenSearchAdapter };

/** The adapter for the configured engine (`MSGXC_SEARCH_ENGINE`), pointed at `MSGXC_SEARCH_URL`. */
export function createSearchAdapter(config: Pick<Config, 'search'>): SearchAdapter {
  const options = { url: config.search.url };
  return config.search.engine === 'elasticsearch'
    ? createElasticsearchAdapter(options)
    : createOpenSearchAdapter(options);
}
