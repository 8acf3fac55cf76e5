import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { createRecordProducer, type RecordProducer } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { ensureTopics } from '../../pipeline/topics/index.ts';
import { fullExamples } from '../../schemas/examples.ts';
import { consume, dropTestData, httpTestConfig } from '../http/support.ts';

/** pipeline/kafka's record producer on the real broker and registry, in both profiles. */

let config: Config;
const open: RecordProducer[] = [];
const producer = (options: Parameters<typeof createRecordProducer>[1] = {}) => {
  const created = createRecordProducer(config, { log: createLogger(config, 'producer-test'), ...options });
  open.push(created);
  return created;
};

beforeAll(async () => {
  config = httpTestConfig();
  await ensureTopics(config, ['acks', 'checkins', 'events']);
});

afterAll(async () => {
  await Promise.allSettled(open.map((item) => item.close()));
  if (config) await dropTestData(config);
});

describe('record producer', () => {
  it('encodes through the registry, groups topics into one request and keeps keys and headers', async () => {
    const records = producer();
    const ack = { ...fullExamples['dev.msgxc.Acknowledgement'], messageId: 'm-1' };
    const checkIn = { ...fullExamples['dev.msgxc.CheckIn'], uid: 'u-1' };
    await records.send([
      { topic: 'acks', key: 'm-1', value: ack, headers: { trace: 't-1' } },
      { topic: 'checkins', key: 'u-1', value: checkIn },
    ]);
    const acks = await consume(config, 'acks');
    expect(acks).toEqual([{ key: 'm-1', value: ack, headers: { trace: 't-1' } }]);
    const checkIns = await consume(config, 'checkins');
    expect(checkIns.map((record) => [record.key, record.value])).toEqual([['u-1', checkIn]]);
  });

  it('splits encoded records above maxBytes into requests that keep their order', async () => {
    const records = producer();
    const events = records.topic('events');
    const event = (index: number) => ({ ...fullExamples['dev.msgxc.DeliveryEvent'], messageId: `order-${index}` });
    const prepared = await Promise.all(
      Array.from({ length: 12 }, (_, index) => events.prepare(event(index), 'same-key')),
    );
    const requests = await records.sendEncoded(
      prepared.map((record) => ({ topic: 'events', ...record })),
      { maxBytes: prepared[0]!.value.length * 3 + 200 },
    );
    expect(requests).toBeGreaterThan(1);
    const read = await consume(config, 'events');
    expect(read.map((record) => record.value.messageId)).toEqual(
      Array.from({ length: 12 }, (_, index) => `order-${index}`),
    );
  });

  it('in the request profile, settles every concurrent caller once its records are acknowledged', async () => {
    const records = producer({ profile: 'request' });
    const acks = records.topic('acks');
    const values = Array.from({ length: 40 }, (_, index) => ({
      ...fullExamples['dev.msgxc.Acknowledgement'],
      messageId: `group-${index}`,
    }));
    await Promise.all(values.map(async (value) => acks.send([await acks.prepare(value, value.messageId)])));
    // Resolved means acknowledged: everything is readable at once, each record once.
    const read = (await consume(config, 'acks')).filter((record) => `${record.value.messageId}`.startsWith('group-'));
    expect(read.map((record) => record.value.messageId).sort()).toEqual(values.map((value) => value.messageId).sort());
  });
});
