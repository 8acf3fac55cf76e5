import { describe } from 'vitest';
import { loadConfig, parseConfig } from '../../pipeline/config/index.ts';
import { uniquePrefix } from './fixtures.ts';
import { audienceIndexSuite } from './suite.ts';

/** The same behaviour through the Elasticsearch 8 adapter, against a real Elasticsearch (MSGXC_TEST_ELASTICSEARCH_URL). */
const elasticsearchUrl = loadConfig().search.testElasticsearchUrl;
const prefix = uniquePrefix();

describe.runIf(elasticsearchUrl !== undefined)('audience index on Elasticsearch', () => {
  audienceIndexSuite(() =>
    parseConfig({
      ...process.env,
      MSGXC_SEARCH_ENGINE: 'elasticsearch',
      MSGXC_SEARCH_URL: elasticsearchUrl,
      MSGXC_SEARCH_INDEX_PREFIX: prefix,
    }),
  );
});
