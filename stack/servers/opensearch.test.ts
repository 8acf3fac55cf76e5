import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../pipeline/config/index.ts';
import { opensearchServer } from './opensearch.ts';

const prepareOn = (port: string) => {
  const config = parseConfig({ MSGXC_SEARCH_PORT: port });
  const dir = mkdtempSync(join(tmpdir(), 'msgxc-opensearch-'));
  return opensearchServer.prepare({
    stack: config.stack,
    java: { bin: 'java', major: 17, lowPauseGc: [] },
    home: dir,
    dir,
  });
};

describe('the OpenSearch server definition', () => {
  it('accepts the default port and any up to 9299', async () => {
    await expect(prepareOn('9200')).resolves.toBeUndefined();
    await expect(prepareOn('9299')).resolves.toBeUndefined();
  });

  it('refuses a port the runner cannot bind, naming the variable', async () => {
    await expect(prepareOn('9300')).rejects.toMatchObject({ code: 'ERR_PORT_RANGE' });
    await expect(prepareOn('19200')).rejects.toThrow(/MSGXC_SEARCH_PORT=19200/);
  });
});
