import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyConnectors, deadLetterTopic } from '../../connectors/index.ts';
import { fullExamples } from '../../schemas/examples.ts';
import type { StoredMessage } from '../../schemas/types.generated.ts';
import {
  countRows,
  createSinkFixture,
  eventually,
  frame,
  readTopic,
  registerEventSchemaV1,
  type SinkFixture,
  sampleEvent,
  sinkNamed,
} from './support.ts';

/**
 * The four sinks on the shared Connect worker: Avro records of two schema versions produced through
 * the project's serde land in the reporting tables; a record the converter cannot read goes to each
 * events sink's dead-letter queue with the reason, and the records after it still land.
 */
describe('Cassandra sink connectors', () => {
  let fixture: SinkFixture;
  const older = Array.from({ length: 20 }, () => sampleEvent({ type: 'sent' }));
  const newer = [
    ...Array.from({ length: 25 }, () => sampleEvent()),
    sampleEvent({ messageId: null, requestId: 'r-expired', type: 'expired', uid: null, channel: null }),
    sampleEvent({ uid: null, type: 'queued', provider: null, latencyMs: null }),
  ];
  const stored: StoredMessage[] = Array.from({ length: 4 }, (_, index) => ({
    ...(fullExamples['dev.msgxc.StoredMessage'] as StoredMessage),
    messageId: `msg-${index}`,
    channels: ['email', 'sms'],
    storedAt: Date.UTC(2026, 0, 1 + index, 23, 59),
  }));
  const total = older.length + newer.length;

  beforeAll(async () => {
    fixture = await createSinkFixture();
    const v1 = await registerEventSchemaV1(fixture.config);
    await fixture.produce(
      'events',
      older.map(({ provider: _p, providerCode: _c, latencyMs: _l, segments: _s, ...event }) => ({
        key: event.messageId ?? event.requestId ?? '',
        value: frame(v1.id, v1.type.toBuffer(event)),
      })),
    );
    // Not Avro from any schema the registry knows: the converter refuses it.
    await fixture.produce('events', [{ key: 'poison', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0x01, 0x02, 0x03]) }]);
    await fixture.produce(
      'events',
      await Promise.all(
        newer.map(async (event) => ({
          key: event.messageId ?? event.requestId ?? '',
          value: await fixture.serde.encode('events', event),
        })),
      ),
    );
    await fixture.produce(
      'messages',
      await Promise.all(
        stored.map(async (message) => ({
          key: message.messageId,
          value: await fixture.serde.encode('messages', message),
        })),
      ),
    );
    await applyConnectors(fixture.config, { sinks: fixture.sinks });
  });

  afterAll(async () => {
    await fixture?.dispose();
  });

  it('writes every event into events_by_day, partitioned by its UTC day and hour', async () => {
    const cql = 'SELECT event_id FROM events_by_day WHERE day = ? AND hour = ?';
    const rows = await eventually(async () => {
      const count = await countRows(fixture.client, cql, ['2026-03-04', 5]);
      return count >= total ? count : undefined;
    }, 'events_by_day rows');
    expect(rows).toBe(total);
  });

  it('reads both schema versions: older records have the newer columns null, timestamps and enums intact', async () => {
    const withMessage = [...older, ...newer].filter((event) => event.messageId !== null);
    await eventually(async () => {
      const count = await countRows(fixture.client, 'SELECT event_id FROM events_by_message');
      return count >= withMessage.length ? count : undefined;
    }, 'events_by_message rows');
    expect(await countRows(fixture.client, 'SELECT event_id FROM events_by_message')).toBe(withMessage.length);

    const v1 = older[0]!;
    const oldRow = (
      await fixture.client.execute(
        'SELECT * FROM events_by_message WHERE message_id = ? AND at = ? AND event_id = ?',
        [v1.messageId, new Date(v1.at), v1.eventId],
        { prepare: true },
      )
    ).first();
    expect(oldRow.get('type')).toBe('sent');
    expect(oldRow.get('channel')).toBe('sms');
    expect(oldRow.get('provider')).toBeNull();
    expect(oldRow.get('latency_ms')).toBeNull();
    expect(oldRow.get('urgency')).toBe(3);

    const v2 = newer[0]!;
    const newRow = (
      await fixture.client.execute(
        'SELECT * FROM events_by_day WHERE day = ? AND hour = ? AND at = ? AND event_id = ?',
        ['2026-03-04', 5, new Date(v2.at), v2.eventId],
        { prepare: true },
      )
    ).first();
    expect((newRow.get('at') as Date).getTime()).toBe(v2.at);
    expect(newRow.get('provider')).toBe('twilio');
    expect(newRow.get('provider_code')).toBe('200');
    expect(newRow.get('latency_ms')).toBe(42);
    expect(newRow.get('segments')).toBe(2);
    expect(newRow.get('variant')).toBe('B');
  });

  it('skips events without a uid in events_by_user, newest first per user', async () => {
    const withUid = [...older, ...newer].filter((event) => event.uid !== null);
    await eventually(async () => {
      const count = await countRows(fixture.client, 'SELECT event_id FROM events_by_user');
      return count >= withUid.length ? count : undefined;
    }, 'events_by_user rows');
    expect(await countRows(fixture.client, 'SELECT event_id FROM events_by_user')).toBe(withUid.length);
    const rows = (
      await fixture.client.execute('SELECT at FROM events_by_user WHERE uid = ?', ['u-1'], { prepare: true })
    ).rows;
    const times = rows.map((row) => (row.get('at') as Date).getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('archives stored messages by the UTC day of storedAt, with their sender and channel list', async () => {
    const row = await eventually(async () => {
      const result = await fixture.client.execute(
        'SELECT * FROM message_archive WHERE day = ? AND message_id = ?',
        ['2026-01-03', 'msg-2'],
        { prepare: true },
      );
      return result.first() ?? undefined;
    }, 'message_archive row');
    expect(row.get('channels')).toEqual(['email', 'sms']);
    expect(row.get('sender_kind')).toBe('admin');
    expect(row.get('sender_id')).toBe('u-admin');
    expect(row.get('kind')).toBe('split');
    expect((row.get('stored_at') as Date).getTime()).toBe(Date.UTC(2026, 0, 3, 23, 59));
    for (let day = 1; day <= 4; day += 1) {
      const date = `2026-01-0${day}`;
      expect(await countRows(fixture.client, 'SELECT message_id FROM message_archive WHERE day = ?', [date])).toBe(1);
    }
  });

  it('puts the unreadable record in each events sink’s dead-letter queue with the reason', async () => {
    for (const name of ['events-by-day', 'events-by-message', 'events-by-user']) {
      const [dead] = await readTopic(fixture.config, deadLetterTopic(fixture.config, sinkNamed(fixture, name)), 1);
      const headers = Object.fromEntries(
        Object.entries(dead!.headers ?? {}).map(([key, value]) => [key, String(value)]),
      );
      expect(dead!.key?.toString()).toBe('poison');
      expect(headers['__connect.errors.topic']).toBe(`${fixture.config.kafka.topicPrefix}msgxc.events`);
      expect(headers['__connect.errors.stage']).toBe('VALUE_CONVERTER');
      expect(headers['__connect.errors.exception.message']).toBeTruthy();
    }
  });

  it('refuses a declaration the connector cannot use, with the reason (Connect answers 400)', async () => {
    const bad = { ...sinkNamed(fixture, 'events-by-day'), name: 'bad-mapping', columns: { day: 'week(at)' } };
    await expect(applyConnectors(fixture.config, { sinks: [bad] })).rejects.toMatchObject({
      code: 'CONNECT_REFUSED',
      message: expect.stringMatching(/400.*day\(path\) \/ hour\(path\)/s),
    });
  });

  it('re-applying the declarations changes nothing and leaves the connectors running', async () => {
    const statuses = await applyConnectors(fixture.config, { sinks: fixture.sinks });
    expect(statuses.map((status) => status.connector.state)).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING']);
    expect(
      await countRows(fixture.client, 'SELECT event_id FROM events_by_day WHERE day = ? AND hour = ?', [
        '2026-03-04',
        5,
      ]),
    ).toBe(total);
  });
});
