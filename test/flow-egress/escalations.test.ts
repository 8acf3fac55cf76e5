import { describe, expect, it } from 'vitest';
import { defaultBatchSizes } from '../../pipeline/records/batcher.ts';
import type { EscalationEntry } from '../../pipeline/records/escalation.ts';
import type { OutputRecord } from '../../pipeline/runtime/types.ts';
import type { DueEscalation } from '../../pipeline/store/escalations.ts';
import type { DeliveryBatch, DeliveryEvent, FanoutJob } from '../../schemas/types.generated.ts';
import { type SweepDependencies, sweepEscalations } from '../../stages/ack/escalations.ts';
import { expandJob } from '../../stages/fanout/expand.ts';
import { audienceDoc, memoryAudience, testDevice } from '../support/memory-audience.ts';

const now = 1_767_225_600_000;
const job: FanoutJob = {
  messageId: 'm-urgent',
  requestId: 'r-urgent',
  tid: null,
  audience: { kind: 'uids', tid: null, uids: ['ann', 'bob'], cohort: null, experimentId: null, variant: null },
  urgency: 4,
  plan: 'fallback',
  channels: ['ws', 'apns', 'sms'],
  fallbackChannels: ['apns', 'sms'],
  escalateAfterMs: 30_000,
  subject: null,
  msg: 'Incoming call',
  opts: null,
  data: null,
  collapseKey: null,
  expiresAt: null,
  experiment: null,
  slice: null,
  sender: { kind: 'service', id: 'calls' },
  createdAt: now,
  triagedAt: now,
  trace: null,
};

const apns = (id: string) => testDevice('apns', id);
const sms = (id: string) => testDevice('sms', id);

async function expand(): Promise<{ outputs: OutputRecord[]; entries: EscalationEntry[] }> {
  const entries: EscalationEntry[] = [];
  const source = memoryAudience([
    audienceDoc('ann', { devices: { ws: true, apns: [apns('a1')] } }),
    audienceDoc('bob', { devices: { apns: [apns('b1')], sms: [sms('b2')] } }),
  ]);
  const run = expandJob(job, {
    audience: source,
    settings: { pageSize: 10, batchSizes: defaultBatchSizes, maxDevicesPerChannel: 10, wsReachability: 'always' },
    now: () => now,
    recordEscalations: async (_job, chunk) => {
      entries.push(...chunk);
    },
  });
  const outputs: OutputRecord[] = [];
  for (let step = await run.next(); !step.done; step = await run.next()) outputs.push(step.value);
  return { outputs, entries };
}

describe('escalation of unacknowledged urgent messages', () => {
  it('sends the first reachable channel now and records the next one with a deadline', async () => {
    const { outputs, entries } = await expand();
    const batches = outputs
      .filter((output) => output.topic.startsWith('deliver.'))
      .map((output) => output.value as DeliveryBatch);
    // ann is connected: ws first; bob is not: apns first, plus a copy to any socket he has open.
    expect(batches.map((batch) => [batch.channel, batch.recipients.map((recipient) => recipient.uid)])).toEqual([
      ['ws', ['ann', 'bob']],
      ['apns', ['bob']],
    ]);
    expect(
      entries.map((entry) => [
        entry.uid,
        entry.channel,
        entry.fallback.map((delivery) => delivery.channel),
        entry.dueAt,
      ]),
    ).toEqual([
      ['ann', 'ws', ['apns'], now + 30_000],
      ['bob', 'apns', ['sms'], now + 30_000],
    ]);
  });

  it('escalates only what went unacknowledged, once, with escalatedFrom and an escalated event', async () => {
    const { entries } = await expand();
    const rows: (DueEscalation & { state: string })[] = entries.map((entry) => ({
      minute: new Date(0),
      shard: 0,
      dueAt: new Date(entry.dueAt),
      messageId: entry.messageId,
      uid: entry.uid,
      channel: entry.channel,
      variant: entry.variant,
      locale: entry.locale,
      fallback: entry.fallback,
      state: 'pending',
    }));
    const emitted: OutputRecord[] = [];
    const deps: SweepDependencies = {
      store: {
        async due(at) {
          return rows.filter((row) => row.state === 'pending' && row.dueAt.getTime() <= at);
        },
        async settle(row, state, _owner, from = 'pending') {
          const stored = rows.find((candidate) => candidate.uid === row.uid);
          if (!stored || stored.state !== from) return false;
          stored.state = state;
          return true;
        },
        async job() {
          return job;
        },
      },
      acknowledged: async (_messageId, uid) => uid === 'ann',
      recordedUntil: async () => true,
      emit: async (records) => {
        emitted.push(...records);
      },
      owner: 'test',
      now: () => now + 31_000,
    };
    const none = { escalated: 0, acknowledged: 0, deferred: 0 };
    expect(await sweepEscalations({ ...deps, now: () => now + 10_000 })).toEqual(none);
    // The ack stage lags behind the deadline: nothing is decided, nothing is claimed.
    const probed: number[] = [];
    const lagging = async (time: number) => {
      probed.push(time);
      return false;
    };
    expect(await sweepEscalations({ ...deps, recordedUntil: lagging })).toEqual({ ...none, deferred: 2 });
    expect(probed).toHaveLength(1);
    expect(emitted).toEqual([]);
    expect(rows.every((row) => row.state === 'pending')).toBe(true);
    expect(await sweepEscalations(deps)).toEqual({ escalated: 1, acknowledged: 1, deferred: 0 });
    expect(await sweepEscalations(deps)).toEqual(none);
    const batch = emitted.find((output) => output.topic === 'deliver.sms.urgent')?.value as DeliveryBatch;
    expect([batch.escalatedFrom, batch.attempt, batch.recipients.map((recipient) => recipient.uid)]).toEqual([
      'apns',
      1,
      ['bob'],
    ]);
    const event = emitted.find((output) => output.topic === 'events')?.value as DeliveryEvent;
    expect([event.type, event.reason, event.uid]).toEqual(['escalated', 'NOT_ACKNOWLEDGED', 'bob']);
  });

  it('hands a claim back when producing the escalation fails', async () => {
    const { entries } = await expand();
    const entry = entries[1]!;
    const row = { ...entry, minute: new Date(0), shard: 0, dueAt: new Date(entry.dueAt), state: 'pending' };
    const deps: SweepDependencies = {
      store: {
        due: async () => (row.state === 'pending' ? [row] : []),
        settle: async (_row, state, _owner, from = 'pending') => {
          if (row.state !== from) return false;
          row.state = state;
          return true;
        },
        job: async () => job,
      },
      acknowledged: async () => false,
      recordedUntil: async () => true,
      emit: async () => {
        throw new Error('kafka down');
      },
      owner: 'test',
      now: () => now + 60_000,
    };
    await expect(sweepEscalations(deps)).rejects.toThrow('kafka down');
    expect(row.state).toBe('pending');
  });
});
