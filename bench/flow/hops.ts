import type { Config } from '../../pipeline/config/index.ts';
import { deliveryTopicFor, fanoutTopics } from '../../pipeline/topics/lanes.ts';
import type { DeliveryBatch, FanoutJob, IngestRequest, PrioritizedRequest } from '../../schemas/types.generated.ts';
import type { MessageFrame } from '../harness/client.ts';
import { readAll, type Stamped } from '../harness/topics.ts';
import { sentAtWall, summarise } from './latency.ts';

/**
 * Where the time goes: each hop from the Kafka timestamps of the records a message left on its way (set by
 * the producing process when it sent them), and the client's arrival time. `lane` is the lane topic the
 * frames' requests took (urgency 4 also has its own delivery topic).
 */
export async function hops(config: Config, frames: MessageFrame[], lane: 'lane.3' | 'lane.4'): Promise<void> {
  const [ingest, laned, fanout, deliver] = await Promise.all([
    readAll<IngestRequest>(config, 'ingest'),
    readAll<PrioritizedRequest>(config, lane),
    Promise.all(fanoutTopics.map((topic) => readAll<FanoutJob>(config, topic))).then((lanes) => lanes.flat()),
    readAll<DeliveryBatch>(config, deliveryTopicFor('ws', Number(lane.slice(5)))),
  ]);
  const firstAt = <T>(records: Stamped<T>[], key: (value: T) => string) => {
    const at = new Map<string, number>();
    for (const record of records) if (!at.has(key(record.value))) at.set(key(record.value), record.at);
    return at;
  };
  const requestOf = new Map(ingest.map((record) => [record.value.msg ?? '', record.value.requestId]));
  const messageOf = new Map(fanout.map((record) => [record.value.requestId, record.value.messageId]));
  const ingested = firstAt(ingest, (value) => value.requestId);
  const routed = firstAt(laned, (value) => value.request.requestId);
  const triaged = firstAt(fanout, (value) => value.messageId);
  const batched = firstAt(deliver, (value) => value.messageId);
  const names = ['service → ingest', 'prioritize', 'triage', 'fanout', 'gateway → client'] as const;
  // One row per message: the time spent in each hop, in the order of `names`.
  const rows: number[][] = [];
  for (const frame of frames) {
    const request = requestOf.get(frame.msg ?? '') ?? '';
    const message = messageOf.get(request) ?? '';
    const times = [
      sentAtWall.get(frame.msg ?? ''),
      ingested.get(request),
      routed.get(request),
      triaged.get(message),
      batched.get(message),
      frame.receivedAt,
    ];
    if (times.some((time) => time === undefined)) continue;
    const at = times as number[];
    rows.push(names.map((_, index) => at[index + 1]! - at[index]!));
  }
  names.forEach((name, index) => {
    const { p50, p99 } = summarise(
      rows.map((row) => row[index]!),
      0,
    );
    console.log(`    ${name.padEnd(18)} p50 ${p50.toFixed(0).padStart(4)} ms  p99 ${p99.toFixed(0).padStart(4)} ms`);
  });
  // Which hops the tail is made of: the slowest 1 % of messages end to end, each hop's mean among them.
  const slowest = [...rows]
    .sort((a, b) => b.reduce((sum, x) => sum + x, 0) - a.reduce((sum, x) => sum + x, 0))
    .slice(0, Math.max(1, Math.ceil(rows.length / 100)));
  const means = names.map(
    (name, index) => `${name} ${(slowest.reduce((sum, row) => sum + row[index]!, 0) / slowest.length).toFixed(0)}`,
  );
  console.log(`    slowest 1 % (${slowest.length}), mean ms per hop: ${means.join(', ')}`);
}
