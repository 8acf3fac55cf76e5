import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { createIngestProducer } from '../../pipeline/ingest-producer/index.ts';
import { ensureTopics } from '../../pipeline/topics/index.ts';
import { consume, dropTestData, httpTestConfig } from './support.ts';

/** The typed producer internal services use writes the same Avro ingest records as the facade. */

let config: Config;

beforeAll(async () => {
  config = httpTestConfig();
  await ensureTopics(config, ['ingest']);
});

afterAll(async () => {
  if (config) await dropTestData(config);
});

describe('ingest producer for services', () => {
  it('sends typed requests through the registry and fills in the bookkeeping', async () => {
    const producer = createIngestProducer(config, { service: 'billing', clock: () => 1_700_000_000_000 });
    try {
      const id = await producer.send({ requestId: 'invoice-1', kind: 'send', uid: 'u42', msg: 'Invoice', urgency: 4 });
      expect(id).toBe('invoice-1');
      const ids = await producer.sendMany(
        Array.from({ length: 50 }, (_, index) => ({
          kind: 'multicast' as const,
          uids: [`u${index}`],
          msg: `m${index}`,
        })),
      );
      expect(new Set(ids).size).toBe(50);
      const records = await consume(config, 'ingest');
      expect(records).toHaveLength(51);
      const first = records.find((record) => record.value.requestId === 'invoice-1');
      expect(first?.key).toBe('invoice-1');
      expect(first?.value).toEqual({
        requestId: 'invoice-1',
        kind: 'send',
        tid: null,
        uid: 'u42',
        uids: null,
        cohort: null,
        variant: null,
        msg: 'Invoice',
        subject: null,
        opts: null,
        data: null,
        urgency: 4,
        channels: null,
        scheduledAt: null,
        expiresAt: null,
        ttlSeconds: null,
        collapseKey: null,
        experimentId: null,
        sender: { kind: 'service', id: 'billing' },
        createdAt: 1_700_000_000_000,
        trace: null,
      });
    } finally {
      await producer.close();
    }
  });

  it('refuses what prioritize would dead-letter, and text that is not well-formed, before sending anything', async () => {
    const producer = createIngestProducer(config, { service: 'billing' });
    try {
      await expect(producer.send({ kind: 'broadcast', msg: 'x', ttlSeconds: 0 })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: 'ttlSeconds must be positive',
      });
      await expect(producer.send({ kind: 'send', uid: 'u1', msg: 'lone \ud800' })).rejects.toMatchObject({
        code: 'ILL_FORMED_TEXT',
      });
    } finally {
      await producer.close();
    }
  });

  it('refuses a request that does not fit the schema before sending anything', async () => {
    const producer = createIngestProducer(config, { service: 'billing' });
    try {
      await expect(
        producer.send({ kind: 'send', uid: 'u1', msg: 'x', urgency: 'high' as never }),
      ).rejects.toMatchObject({
        code: 'SCHEMA_VIOLATION',
      });
    } finally {
      await producer.close();
    }
  });
});
