import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyConnectors, connectorStatus, waitUntilRunning } from '../../connectors/index.ts';
import type { DeliveryEvent } from '../../schemas/types.generated.ts';
import {
  connectorOf,
  countRows,
  createSinkFixture,
  eventually,
  type SinkFixture,
  sampleEvent,
  sinkNamed,
  sinkTestConfig,
} from './support.ts';
import { startWorker, type TestWorker } from './workers.ts';

/**
 * A Connect cluster of its own (two workers, one group) sinking `events` into events_by_day. Workers
 * are killed with SIGKILL while records are in flight: the rows that arrive are exactly the events
 * produced, none lost (offsets are committed only after the writes) and none doubled (upserts).
 */
describe('sink connectors across worker crashes', () => {
  let fixture: SinkFixture;
  let first: TestWorker;
  let second: TestWorker | undefined;
  let groupId: string;
  const produced: DeliveryEvent[] = [];
  const hourCql = 'SELECT event_id FROM events_by_day WHERE day = ? AND hour = ?';

  async function produceEvents(count: number): Promise<void> {
    const events = Array.from({ length: count }, () => sampleEvent());
    produced.push(...events);
    for (let start = 0; start < events.length; start += 500) {
      const chunk = events.slice(start, start + 500);
      await fixture.produce(
        'events',
        await Promise.all(
          chunk.map(async (event) => ({ key: event.messageId!, value: await fixture.serde.encode('events', event) })),
        ),
      );
    }
  }

  const rowsNow = () => countRows(fixture.client, hourCql, ['2026-03-04', 5]);

  async function expectExactlyTheProducedRows(): Promise<void> {
    await eventually(
      async () => ((await rowsNow()) >= produced.length ? true : undefined),
      `${produced.length} rows`,
      240_000,
    );
    const rows = await fixture.client.execute(hourCql, ['2026-03-04', 5], { prepare: true, fetchSize: 100_000 });
    const ids = rows.rows.map((row) => row.get('event_id') as string);
    expect(ids.length).toBe(produced.length);
    expect(new Set(ids)).toEqual(new Set(produced.map((event) => event.eventId)));
  }

  beforeAll(async () => {
    const config = sinkTestConfig();
    groupId = 'connect-cluster';
    // One at a time: a worker that fails to start must not leave the other running unowned.
    first = await startWorker(config, { groupId });
    second = await startWorker(config, { groupId });
    fixture = await createSinkFixture(
      sinkTestConfig({
        MSGXC_TOPIC_PREFIX: config.kafka.topicPrefix,
        MSGXC_KAFKA_CLIENT_ID: config.kafka.clientId,
        MSGXC_CASSANDRA_KEYSPACE: config.cassandra.keyspace,
        MSGXC_CONNECT_URL: first.url,
      }),
    );
    await applyConnectors(fixture.config, {
      sinks: [{ ...sinkNamed(fixture, 'events-by-day'), tasksMax: 2 }],
      // Small polls so a crash lands between writes and commits rather than after the last one.
      overrides: { 'consumer.override.max.poll.records': '100' },
    });
  });

  afterAll(async () => {
    try {
      await fixture?.dispose();
    } finally {
      await Promise.all([first?.stop(), second?.stop()]);
    }
  });

  it('spreads the tasks over both workers of the group', async () => {
    const name = connectorOf(fixture, 'events-by-day');
    const workers = await eventually(async () => {
      const status = await connectorStatus(fixture.config.connect.url, name);
      const owners = new Set(status?.tasks.filter((task) => task.state === 'RUNNING').map((task) => task.worker_id));
      return owners.size === 2 ? owners : undefined;
    }, 'tasks on two workers');
    expect([...workers].sort()).toEqual([`127.0.0.1:${first.port}`, `127.0.0.1:${second!.port}`].sort());
  });

  it('loses and doubles nothing when one of two workers is killed mid-stream', async () => {
    await produceEvents(3000);
    await eventually(async () => ((await rowsNow()) > 0 ? true : undefined), 'the first rows');
    await second!.crash();
    second = undefined;
    await produceEvents(2000);
    await expectExactlyTheProducedRows();
    // The group reassigns a dead worker's tasks only after it missed its session and the scheduled
    // rebalance delay (10 s here): the rows may all be written before the status shows it.
    const owners = await eventually(async () => {
      const status = await connectorStatus(fixture.config.connect.url, connectorOf(fixture, 'events-by-day'));
      const workers = new Set(status?.tasks.map((task) => task.worker_id));
      return workers.size === 1 && workers.has(`127.0.0.1:${first.port}`) ? workers : undefined;
    }, 'every task on the surviving worker');
    expect(owners).toEqual(new Set([`127.0.0.1:${first.port}`]));
  });

  it('loses and doubles nothing when the only worker is killed mid-stream and restarted', async () => {
    await produceEvents(3000);
    await eventually(
      async () => ((await rowsNow()) > produced.length - 3000 ? true : undefined),
      'rows of the new batch',
    );
    await first.crash();
    const port = first.port;
    first = await startWorker(fixture.config, { groupId, port });
    await waitUntilRunning(fixture.config, connectorOf(fixture, 'events-by-day'), 180_000);
    await expectExactlyTheProducedRows();
  });
});
