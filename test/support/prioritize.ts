import type { InputRecord } from '../../pipeline/runtime/types.ts';
import type { IngestRequest } from '../../schemas/types.generated.ts';

/** Fixtures for the flow-ingress tests (unit and integration): a valid request and a record around it. */

export const fixtureNow = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export function ingestRequest(overrides: Partial<IngestRequest> = {}): IngestRequest {
  return {
    requestId: 'req-1',
    kind: 'publish',
    tid: 't-news',
    uid: null,
    uids: null,
    cohort: null,
    variant: null,
    msg: 'hello',
    subject: null,
    opts: null,
    data: null,
    urgency: null,
    channels: null,
    scheduledAt: null,
    expiresAt: null,
    ttlSeconds: null,
    collapseKey: null,
    experimentId: null,
    sender: { kind: 'user', id: 'u-alice' },
    createdAt: fixtureNow,
    trace: null,
    ...overrides,
  };
}

let offset = 0;

export function inputRecord<T>(
  value: T,
  topic = 'ingest',
  at: { partition?: number; offset?: string } = {},
): InputRecord<T> {
  return {
    topic,
    partition: at.partition ?? 0,
    offset: at.offset ?? String(offset++),
    key: null,
    value,
    headers: {},
    timestamp: fixtureNow,
  };
}
