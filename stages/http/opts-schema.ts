import { z } from 'zod';
import {
  boundedText,
  channelNames,
  channelSchema,
  contract,
  contractId,
  dataKeyPattern,
  dataSchema,
  jsonBytes,
  type TimestampWindow,
  timestampSchema,
  uniqueList,
  urgencySchema,
} from './schema-parts.ts';

const optsFields = [
  'subject',
  'urgency',
  'channels',
  'ttl',
  'expiresAt',
  'scheduledAt',
  'collapseKey',
  'experimentId',
  'data',
] as const;

/**
 * Keys `opts` carries beyond the known fields, for the channel adapters: few, flat and short, so that
 * however they are chosen they fit the contract's payload limit (8 × (64-character key + 64 characters
 * of at most 6 JSON bytes each) < 4096) and the document can say the bound exactly.
 */
const extraOptsMax = 8;
const extraOptValue = z.union([z.string().max(64), z.number(), z.boolean(), z.null()]);

/** The seed's `opts`: known fields are checked, others are kept verbatim for the channel adapters. */
export function optsSchemaFor(window: TimestampWindow) {
  const ttlMaxSeconds = 2_419_200;
  return z
    .object({
      subject: boundedText(contract.subjectMaxBytes, 'subject')
        .optional()
        .meta({ description: `Title or e-mail subject (at most ${contract.subjectMaxBytes} bytes).` }),
      urgency: urgencySchema.optional(),
      channels: uniqueList(channelSchema, channelNames.length)
        .min(1)
        .optional()
        .meta({ description: 'Restrict delivery to these channels.' }),
      ttl: z.int().min(1).max(ttlMaxSeconds).optional().meta({ description: 'Lifetime in seconds (1 s to 28 days).' }),
      expiresAt: timestampSchema(window, contract.scheduleMaxAheadMs + ttlMaxSeconds * 1000, 'expiresAt')
        .refine((at) => at > window.clock(), 'expiresAt must be in the future')
        .optional(),
      scheduledAt: timestampSchema(window, contract.scheduleMaxAheadMs, 'scheduledAt').optional(),
      collapseKey: boundedText(contract.collapseKeyMaxBytes, 'collapseKey').optional(),
      experimentId: contractId('experimentId', 128).optional(),
      data: dataSchema
        .refine(
          (data) => jsonBytes(data) <= contract.payloadMaxBytes,
          `data must be at most ${contract.payloadMaxBytes} bytes as JSON`,
        )
        .optional(),
    })
    .catchall(extraOptValue)
    .superRefine((opts, ctx) => {
      if (opts.expiresAt !== undefined && opts.scheduledAt !== undefined && opts.expiresAt <= opts.scheduledAt) {
        ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'expiresAt must be after scheduledAt' });
      }
      const rest = Object.fromEntries(
        Object.entries(opts).filter(([key]) => !(optsFields as readonly string[]).includes(key)),
      );
      for (const key of Object.keys(rest).filter((name) => !dataKeyPattern.test(name))) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'keys are letters, digits, _ . - (at most 64)' });
      }
      if (Object.keys(rest).length > extraOptsMax) {
        ctx.addIssue({ code: 'custom', message: `at most ${extraOptsMax} keys besides the known fields` });
      }
      if (jsonBytes(rest) > contract.payloadMaxBytes) {
        ctx.addIssue({
          code: 'custom',
          message: `the keys for the channel adapters must be at most ${contract.payloadMaxBytes} bytes as JSON`,
        });
      }
    })
    .meta({
      title: 'Opts',
      description: `Delivery options; up to ${extraOptsMax} other keys (letters, digits, _ . -; strings of at most 64 characters, numbers, booleans, null) are passed to the channel adapters as they are.`,
      maxProperties: optsFields.length + extraOptsMax,
      propertyNames: { pattern: dataKeyPattern.source },
    });
}

export type Opts = z.output<ReturnType<typeof optsSchemaFor>>;
