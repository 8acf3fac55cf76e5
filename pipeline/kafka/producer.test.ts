import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { createRecordProducer } from './producer.ts';

// Nothing listens on port 9: every case below must be decided without a broker or a registry, or by their absence.
const config = parseConfig({
  MSGXC_KAFKA_BROKERS: '127.0.0.1:9',
  MSGXC_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7',
  MSGXC_LOG_LEVEL: 'silent',
});
const log = createLogger(config, 'producer-test');
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe('createRecordProducer without a broker', () => {
  it('refuses a value that does not fit its topic schema before connecting', async () => {
    const producer = createRecordProducer(config, { log });
    const error = await failure(producer.topic('acks').publish({ messageId: 42 } as never, 'k'));
    expect(error).toMatchObject({ code: 'SCHEMA_VIOLATION', retriable: false });
    await producer.close();
  });

  it('in the request profile, reports an unreachable Kafka as a retriable 503 within seconds', async () => {
    const producer = createRecordProducer(config, { profile: 'request', log });
    const error = await failure(producer.sendEncoded([{ topic: 'ingest', key: 'k', value: Buffer.from('x') }]));
    expect(error).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retriable: true, status: 503 });
    await producer.close();
  }, 30_000);

  it('refuses records after close, and sends nothing for no records', async () => {
    const producer = createRecordProducer(config, { profile: 'request', log });
    await expect(producer.sendEncoded([])).resolves.toBe(0);
    await producer.close();
    const error = await failure(producer.sendEncoded([{ topic: 'ingest', key: 'k', value: Buffer.from('x') }]));
    expect(error).toMatchObject({ code: 'PRODUCER_CLOSED' });
  });
});
