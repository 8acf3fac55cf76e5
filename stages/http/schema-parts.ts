import { z } from 'zod';
import { defaultLimits, idProblem } from '../../pipeline/contract/ingest.ts';
import { type Channel, ChannelSymbols } from '../../schemas/types.generated.ts';

/** The small schemas the facade's bodies are built from: ids, text, timestamps, lists, the app payload. */

export const contract = defaultLimits;

/** The channels a caller may name: the Avro `dev.msgxc.Channel` symbols. */
export const channelNames = ChannelSymbols;
export type ChannelName = Channel;
export const urgencyNames = ['very-low', 'low', 'normal', 'high'] as const;

/** Marks an issue that means "too large" rather than "wrong", so the facade answers 413. */
export const tooLarge = { status: 413 } as const;

export const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

export const uidSchema = z
  .string()
  .min(1)
  .max(256)
  .refine(
    (uid) => !/\s/.test(uid) && ![...uid].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f),
    'must not contain spaces or control characters',
  )
  // The same rule as a pattern, so the document says it: the characters JavaScript's `\s` matches spelled
  // out (Python's `\s`, which a client may use, differs), and the control characters.
  .meta({
    pattern: '^[^\\u0000-\\u0020\\u007f\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]+$',
    description: 'A user id (the JWT `sub` of that user).',
  });

export const tidSchema = z.uuid().meta({ description: 'A thread id (UUID).' });
export const messageIdSchema = z
  .uuid({ version: 'v1' })
  .meta({ description: 'A message id (a time UUID, version 1).' });
export const channelSchema = z.enum(channelNames).meta({ description: 'A delivery channel.' });

/** No control characters: ids end up in Kafka keys, Cassandra keys and log lines. */
export const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine(
      (text) => ![...text].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f),
      'must not contain control characters',
    );

export const requestIdSchema = printable(200).meta({
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  description:
    'An ingest request id: the `msgxc-request-id` a publish answered with, or the id a service produced (not the HTTP `x-request-id`).',
});

export const ackStatusNames = ['delivered', 'opened', 'clicked', 'dismissed'] as const;

export const uniqueList = <T extends z.ZodType>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .refine((list) => new Set(list).size === list.length, 'must not repeat an entry')
    // Said in the document too (a fuzzer sent repeats as schema-valid and was right to expect them accepted).
    .meta({ uniqueItems: true });

export const urgencySchema = z
  .union([z.int().min(1).max(4), z.enum(urgencyNames)])
  .transform((value) => (typeof value === 'number' ? value : urgencyNames.indexOf(value) + 1))
  .meta({ description: '1 very-low, 2 low, 3 normal, 4 high (RFC 8030); a number or the name.' });

/** Epoch milliseconds or an ISO 8601 date-time, within [now - past, now + ahead] at the time of the request. */
export const timestampSchema = (window: TimestampWindow, aheadMs: number, what: string) =>
  z
    .union([z.int().min(0).max(8_640_000_000_000_000), z.iso.datetime({ offset: true })])
    .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
    .refine(
      (at) => at >= window.clock() - window.pastMs && at <= window.clock() + aheadMs,
      `${what} must lie between ${describeSpan(window.pastMs)} ago and ${describeSpan(aheadMs)} from now`,
    )
    .meta({
      description: `Epoch milliseconds or an ISO 8601 date-time; ${what} at most ${describeSpan(window.pastMs)} ago and ${describeSpan(aheadMs)} ahead.`,
    });

export const describeSpan = (ms: number) =>
  ms >= 86_400_000 ? `${Math.round(ms / 86_400_000)} days` : `${Math.round(ms / 1000)} s`;

export interface TimestampWindow {
  clock: () => number;
  /** How far in the past a timestamp may lie. */
  pastMs: number;
  /** How far ahead of the server's clock a client's "it happened at" may be. */
  clockSkewMs: number;
}

/**
 * "Not blank" as the document says it: some character that String.prototype.trim keeps (JavaScript's
 * white space and line terminators spelled out, since a client's regex engine may mean another `\s`).
 */
export const notBlankPattern =
  '[^\\u0009-\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]';

/** Text the contract will carry: not blank, at most `maxBytes` of UTF-8. */
export const boundedText = (maxBytes: number, what: string) =>
  z
    .string()
    .min(1)
    .refine((text) => text.trim().length > 0, `${what} must not be blank`)
    .refine((text) => utf8Bytes(text) <= maxBytes, `${what} must be at most ${maxBytes} bytes of UTF-8`)
    .meta({ pattern: notBlankPattern });

/** An id by the contract's rule (not blank, no control characters, at most `maxLength`). */
export const contractId = (what: string, maxLength: number) =>
  z
    .string()
    .min(1)
    .max(maxLength)
    .superRefine((value, ctx) => {
      const problem = idProblem(what, value, maxLength);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });

export const jsonBytes = (value: unknown) => utf8Bytes(JSON.stringify(value));

export const dataKeyPattern = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const dataKey = z.string().regex(dataKeyPattern, 'keys are letters, digits, _ . - (at most 64)');
export const dataSchema = z
  .record(dataKey, z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]))
  .refine((record) => Object.keys(record).length <= 64, 'at most 64 keys')
  .meta({
    maxProperties: 64,
    description: 'Application payload delivered to the client (flat: strings, numbers, booleans).',
  });
