import type { z } from 'zod';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import type { DeviceBody } from './device-schemas.ts';
import type { Validators } from './validators.ts';

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
}

/** Parses `value` or throws the facade's 400 (or 413 when the only trouble is size). */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ValidationIssue[] = result.error.issues.map((issue) => ({
    path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)),
    message: issue.message,
  }));
  const onlySize = result.error.issues.every(
    (issue) => issue.code === 'custom' && (issue.params as { status?: number } | undefined)?.status === 413,
  );
  if (onlySize) {
    throw new MsgxcError('PAYLOAD_TOO_LARGE', issues[0]?.message ?? 'too large', { status: 413, details: { issues } });
  }
  throw new MsgxcError('INVALID_REQUEST', 'the request does not match the schema', {
    status: 400,
    details: { issues },
  });
}

/** Picks the enlist shape by its keys so a client gets the issues of the shape it meant, not of all three. */
export function parseDevice(validators: Validators, body: unknown): DeviceBody {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (record.os === 'ios') return parseWith(validators.enlistIos, body);
    if (record.os === 'android') return parseWith(validators.enlistAndroid, body);
    if ('endpoint' in record && !('os' in record)) return parseWith(validators.enlistWebPush, body);
  }
  throw new MsgxcError('INVALID_REQUEST', 'the request does not match the schema', {
    status: 400,
    details: {
      issues: [
        {
          path: [],
          message:
            'expected {"os":"ios","token":…}, {"os":"android","token":…} or a Web Push subscription {endpoint, expirationTime, keys}',
        },
      ],
    },
  });
}
