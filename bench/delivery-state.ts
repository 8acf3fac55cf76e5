import { types } from 'cassandra-driver';
import { chunk, mapLimit } from '../pipeline/concurrency/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import { DELIVERY_BUCKETS, recordDeliveries } from '../pipeline/store/delivery-recording.ts';
import type { DeliveryUpdate } from '../pipeline/store/message-types.ts';
import { bucketOf } from '../pipeline/store/shared.ts';
import { type CpuPhase, startCpuPhase } from './harness/cpu-shares.ts';
import { withBenchKeyspace } from './harness/keyspace.ts';
import { reportFigure } from './results.ts';

/**
 * The ack stage's bookkeeping on the real Cassandra: a broadcast's `sent` events (one message, `events`
 * recipients on ws) recorded as delivery state and summary counters, in batches of `batch` as the ack stage
 * fetches them. Three ways, same run, each on a message of its own:
 * - raw: one plain write per event (the state cell alone, no read, no counter), 16 in flight: what storing
 *   the events costs at the least;
 * - one at a time: each event read, written and counted on its own, 16 in flight (the ack stage until
 *   2026-11-30);
 * - bulk: `recordDeliveries` per batch (one read per hundred recipients of a partition, one unlogged batch per
 *   twenty, one counter batch per message).
 * Each with events/s and Cassandra's CPU per thousand events. A keyspace of its own, dropped at the end.
 *
 *   npm run bench -- delivery-state [events=20000] [batch=500]
 */
export async function run(base: Config, args: string[]): Promise<number> {
  const options = Object.fromEntries(args.map((arg) => arg.split('=') as [string, string]));
  const events = Number(options.events ?? 20_000);
  const batchSize = Number(options.batch ?? 500);
  const broadcast = (): DeliveryUpdate[] => {
    const messageId = types.TimeUuid.now().toString();
    return Array.from({ length: events }, (_, index) => ({
      messageId,
      uid: `u-${index}`,
      channel: 'ws' as const,
      state: 'sent',
      at: Date.now(),
    }));
  };
  const batches = (updates: DeliveryUpdate[]) => chunk(updates, batchSize);
  return withBenchKeyspace(base, 'bench_delivery', async (client) => {
    console.log(`delivery-state bench — ${events.toLocaleString('en-GB')} sent events, batches of ${batchSize}`);
    // Warms the client's prepared statements and Cassandra's paths, unmeasured.
    await recordDeliveries(client, broadcast().slice(0, 200));
    const raw = await phase('raw: one plain write per event', events, async () => {
      await mapLimit(broadcast(), 16, (update) =>
        client.execute(
          'UPDATE delivery_state SET states[?] = ? WHERE message_id = ? AND bucket = ? AND uid = ? AND channel = ?',
          [
            update.state,
            new Date(update.at),
            update.messageId,
            bucketOf(update.uid, DELIVERY_BUCKETS),
            update.uid,
            update.channel,
          ],
          { prepare: true },
        ),
      );
    });
    const single = await phase('one at a time: read, write, count', events, async () => {
      for (const batch of batches(broadcast()))
        await mapLimit(batch, 16, (update) => recordDeliveries(client, [update]));
    });
    const bulk = await phase('bulk: recordDeliveries per batch', events, async () => {
      for (const batch of batches(broadcast())) await recordDeliveries(client, batch);
    });
    reportFigure({
      bench: 'delivery-state',
      figure: `sent events recorded per second in batches of ${batchSize} (state, counters)`,
      value: bulk.rate,
      unit: 'events/s',
      baseline: { name: 'one plain write per event', value: raw.rate, unit: 'events/s' },
      ratio: bulk.rate / raw.rate,
    });
    console.log(
      `  bulk ÷ raw ${(bulk.rate / raw.rate).toFixed(2)}, bulk ÷ one at a time ${(bulk.rate / single.rate).toFixed(1)}×; ` +
        `Cassandra CPU per event: bulk ${ratioOf(bulk, single)} of one at a time`,
    );
    return 0;
  });
}

interface Phase {
  rate: number;
  /** Cassandra's CPU per thousand events, in ms (NaN where /proc is not readable). */
  cassandraMsPerThousand: number;
}

async function phase(label: string, events: number, work: () => Promise<void>): Promise<Phase> {
  const cpu = startCpuPhase();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const used: CpuPhase = cpu();
  const cassandra = used.shares.find((share) => share.name === 'cassandra');
  const cassandraMsPerThousand = cassandra ? (cassandra.cores * used.seconds * 1000 * 1000) / events : Number.NaN;
  const rate = events / seconds;
  console.log(
    `  ${label.padEnd(36)} ${Math.round(rate).toLocaleString('en-GB').padStart(7)} events/s  ` +
      `Cassandra CPU ${cassandraMsPerThousand.toFixed(0)} ms per 1,000 events`,
  );
  return { rate, cassandraMsPerThousand };
}

function ratioOf(bulk: Phase, single: Phase): string {
  return `${((bulk.cassandraMsPerThousand / single.cassandraMsPerThousand) * 100).toFixed(0)} %`;
}
