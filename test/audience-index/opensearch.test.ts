import { describe } from 'vitest';
import { parseConfig } from '../../pipeline/config/index.ts';
import { uniquePrefix } from './fixtures.ts';
import { audienceIndexSuite } from './suite.ts';

const prefix = uniquePrefix();

describe('audience index on OpenSearch', () => {
  audienceIndexSuite(() =>
    parseConfig({ ...process.env, MSGXC_SEARCH_ENGINE: 'opensearch', MSGXC_SEARCH_INDEX_PREFIX: prefix }),
  );
});
