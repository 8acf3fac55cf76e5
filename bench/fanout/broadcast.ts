import { types } from 'cassandra-driver';
import type { Config } from '../../pipeline/config/index.ts';
import { jsonCodec } from '../../pipeline/runtime/codec.ts';
import { type EncodedOutput, type PendingRecord, processChunk } from '../../pipeline/runtime/process.ts';
import type { Codec, InputRecord, OutputRecord } from '../../pipeline/runtime/types.ts';
import { topicSpec } from '../../pipeline/topics/index.ts';
import { deliveryTopics } from '../../pipeline/topics/lanes.ts';
import { schemaType } from '../../schemas/index.ts';
import type { DeliveryBatch, FanoutJob } from '../../schemas/types.generated.ts';
import { type FanoutDependencies, handleFanout } from '../../stages/fanout/handler.ts';

/**
 * One broadcast through the fanout handler, two ways: as the stage runs it (the runtime's chunk processing,
 * Avro encoding, flushes dropped where Kafka would get them) and the handler's stream alone. Both follow the
 * slice jobs the handler emits, and count whom the delivery batches reach.
 */

const jobBase: Omit<FanoutJob, 'messageId'> = {
  requestId: 'bench',
  tid: null,
  audience: { kind: 'everyone', tid: null, uids: null, cohort: null, experimentId: null, variant: null },
  urgency: 1,
  plan: 'realtime',
  channels: ['ws', 'apns', 'webpush', 'email'],
  fallbackChannels: null,
  escalateAfterMs: null,
  subject: 'A broadcast',
  msg: 'Something everyone should read',
  opts: null,
  data: '{"url":"/news/1"}',
  collapseKey: null,
  expiresAt: null,
  experiment: null,
  slice: null,
  sender: { kind: 'admin', id: 'bench' },
  createdAt: Date.now(),
  triagedAt: Date.now(),
  trace: null,
};

export interface Reach {
  recipients: number;
  deliveries: number;
  calls: number;
  flushes: number;
}

// A time UUID, as triage assigns: the inbox partitions by its time.
const broadcastJob = (): FanoutJob => ({
  ...jobBase,
  messageId: types.TimeUuid.now().toString(),
  createdAt: Date.now(),
});

/** Avro as the stage's serde writes it (without the registry's 5-byte header); jobs come in as JSON. */
const avroCodec: Codec = {
  async encode(topic, value) {
    return schemaType(topicSpec(topic).schema ?? '').toBuffer(value);
  },
  decode: jsonCodec.decode,
};

const outputTopics = new Set([
  'fanout',
  'events',
  ...['ws', 'webpush', 'apns', 'fcm', 'sms', 'email'].flatMap(deliveryTopics),
]);

/**
 * One broadcast through the streaming handler and the runtime's chunk processing, as the stage runs it but
 * for Kafka: each flushed chunk is dropped where it would be produced. Slice jobs it emits run as further calls.
 */
export async function asTheStageRunsIt(deps: FanoutDependencies, runtime: Config['runtime']): Promise<Reach> {
  const reach: Reach = { recipients: 0, deliveries: 0, calls: 0, flushes: 0 };
  const users = reachedUsers();
  const pending: FanoutJob[] = [broadcastJob()];
  const flush = async (_outputs: EncodedOutput[]) => {
    reach.flushes++;
  };
  for (let next = pending.shift(); next; next = pending.shift()) {
    reach.calls++;
    // Counts what the handler yields on its way to the runtime; slice jobs are taken before encoding.
    const observed = async function* (records: InputRecord[]): AsyncGenerator<OutputRecord> {
      for await (const output of handleFanout(records as InputRecord<FanoutJob>[], deps)) {
        if (output.topic === 'fanout') pending.push(output.value as FanoutJob);
        else if (output.topic.startsWith('deliver.')) count(output.value as DeliveryBatch, reach, users);
        yield output;
      }
    };
    const result = await processChunk([pendingRecord(next)], {
      policy: { attempts: 1, baseMs: 1, maxMs: 1, delayedAttempts: 0, delayedBaseMs: 1, delayedMaxMs: 1 },
      codec: avroCodec,
      outputTopics,
      maxOutputBytes: runtime.maxProduceBytes,
      streamChunk: runtime.streamChunk,
      handler: observed,
      flush,
      wait: async () => undefined,
    });
    const failure = result.failed[0];
    if (failure) throw new Error(`the handler failed: ${failure.failure.code} ${failure.failure.message}`);
    if (result.outputs.length > 0) reach.flushes++; // the tail leaves with the chunk's result
  }
  reach.recipients = users.size;
  return reach;
}

/** The handler's stream taken one output at a time and dropped: no encoding, no chunks. */
export async function streamOnly(deps: FanoutDependencies): Promise<Reach> {
  const reach: Reach = { recipients: 0, deliveries: 0, calls: 0, flushes: 0 };
  const users = reachedUsers();
  const pending: FanoutJob[] = [broadcastJob()];
  for (let next = pending.shift(); next; next = pending.shift()) {
    reach.calls++;
    for await (const output of handleFanout([input(next)], deps)) {
      if (output.topic === 'fanout') pending.push(output.value as FanoutJob);
      else if (output.topic.startsWith('deliver.')) count(output.value as DeliveryBatch, reach, users);
    }
  }
  reach.recipients = users.size;
  return reach;
}

function count(batch: DeliveryBatch, reach: Reach, users: ReachedUsers): void {
  reach.deliveries += batch.recipients.length;
  for (const recipient of batch.recipients) users.add(recipient.uid);
}

interface ReachedUsers {
  add(uid: string): void;
  readonly size: number;
}

const benchPrefix = 'bench-';

/**
 * The distinct users the delivery batches reached, by the bench users' numbers (`bench-` and six base-36
 * digits, audience-users.ts): a byte per user. A Set of the uid strings cost 6 % of the handler's time in a CPU
 * profile of this bench (2026-12-01), work the stage does not do and the paging baseline was not charged.
 */
export function reachedUsers(): ReachedUsers {
  let seen = new Uint8Array(1 << 17);
  let size = 0;
  return {
    add(uid) {
      if (uid.length !== benchPrefix.length + 6 || !uid.startsWith(benchPrefix)) {
        throw new Error(`a delivery reached ${uid}, not a bench user`);
      }
      let number = 0;
      for (let at = benchPrefix.length; at < uid.length; at++) {
        const code = uid.charCodeAt(at);
        const digit = code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 122 ? code - 87 : -1;
        if (digit < 0) throw new Error(`a delivery reached ${uid}, not a bench user`);
        number = number * 36 + digit;
      }
      if (number >= seen.length) {
        const grown = new Uint8Array(Math.max(seen.length * 2, number + 1));
        grown.set(seen);
        seen = grown;
      }
      if (seen[number] === 0) {
        seen[number] = 1;
        size++;
      }
    },
    get size() {
      return size;
    },
  };
}

function pendingRecord(job: FanoutJob): PendingRecord {
  const offset = '0';
  return {
    message: {
      key: Buffer.from(job.messageId),
      value: Buffer.from(JSON.stringify(job)),
      timestamp: String(Date.now()),
      attributes: 0,
      offset,
      headers: {},
    },
    topic: 'fanout',
    source: { topic: 'msgxc.fanout', partition: 0, offset },
    priorAttempts: 0,
  };
}

function input(job: FanoutJob): InputRecord<FanoutJob> {
  return {
    topic: 'fanout',
    partition: 0,
    offset: '0',
    key: job.messageId,
    value: job,
    headers: {},
    timestamp: Date.now(),
  };
}
