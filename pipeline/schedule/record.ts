import { MsgxcError } from '../errors/index.ts';
import type { HeldRequest } from './types.ts';

/**
 * How a held request is kept in the schedule row's `record` blob: versioned JSON of what the scheduler needs
 * to re-inject it (the request unchanged, the lane urgency prioritize chose and the resolved expiry). JSON
 * rather than registry-framed Avro so a row written today can be read without the registry and by whatever
 * schema version runs when it falls due; every field is a plain string, number, boolean or null.
 */

const VERSION = 1;

export function encodeHeld(held: HeldRequest): Buffer {
  return Buffer.from(JSON.stringify({ v: VERSION, ...held }), 'utf8');
}

export function decodeHeld(record: Buffer): HeldRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.toString('utf8'));
  } catch (error) {
    throw new MsgxcError('SCHEDULE_RECORD_INVALID', 'a schedule row holds no valid JSON', { cause: error });
  }
  const value = parsed as Partial<HeldRequest> & { v?: number };
  if (
    value?.v !== VERSION ||
    typeof value.request?.requestId !== 'string' ||
    typeof value.dueAt !== 'number' ||
    typeof value.urgency !== 'number'
  ) {
    throw new MsgxcError('SCHEDULE_RECORD_INVALID', `a schedule row holds an unknown record (version ${value?.v})`);
  }
  return { request: value.request, dueAt: value.dueAt, urgency: value.urgency, expiresAt: value.expiresAt ?? null };
}
