import { z } from 'zod';
import { androidDeviceSchema, iosDeviceSchema, webPushSubscriptionSchema } from './device-schemas.ts';
import { optsSchemaFor } from './opts-schema.ts';
import {
  ackStatusNames,
  channelNames,
  channelSchema,
  contract,
  describeSpan,
  messageIdSchema,
  notBlankPattern,
  printable,
  requestIdSchema,
  type TimestampWindow,
  tidSchema,
  tooLarge,
  uidSchema,
  uniqueList,
  urgencySchema,
  utf8Bytes,
} from './schema-parts.ts';

/**
 * Every body, path and query the facade accepts, as zod schemas. The same schemas validate requests and
 * generate the OpenAPI document, so the two cannot drift. They hold the ingest contract's limits
 * (pipeline/contract), so a body they accept builds a record prioritize accepts; the facade still runs the
 * contract on the record it built before producing it. Built by a factory because the message size limit
 * and the timestamp window are configuration, and the window moves with the clock.
 */

export * from './device-schemas.ts';
export * from './opts-schema.ts';
export * from './parse.ts';
export {
  ackStatusNames,
  type ChannelName,
  channelNames,
  channelSchema,
  messageIdSchema,
  requestIdSchema,
  type TimestampWindow,
  tidSchema,
  uidSchema,
  urgencyNames,
  urgencySchema,
} from './schema-parts.ts';

const threadUsers = (max: number) => uniqueList(uidSchema, max);

export const experimentSchema = z
  .strictObject({
    id: z.string().min(1).max(128),
    variants: z
      .array(
        z.strictObject({
          name: z.string().min(1).max(64),
          weight: z.int().min(0).max(100),
          uids: threadUsers(10_000).nullable().optional(),
          subject: z.string().min(1).max(256).nullable().optional(),
          msg: z.string().min(1).max(4096).nullable().optional(),
          channels: uniqueList(channelSchema, channelNames.length).nullable().optional(),
        }),
      )
      .min(1)
      .max(16)
      .refine((variants) => variants.reduce((sum, variant) => sum + variant.weight, 0) === 100, {
        message: 'variant weights must add up to 100',
      })
      .refine((variants) => new Set(variants.map((variant) => variant.name)).size === variants.length, {
        message: 'variant names must be unique',
      }),
  })
  .meta({ title: 'Experiment', description: 'An experiment: variants with weights (percent) adding up to 100.' });

const threadFields = {
  // The length is the client's (before trimming), as the document says; blank is refused either way.
  name: z.string().max(200).trim().min(1).meta({ pattern: notBlankPattern }),
  alias: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits and . _ - (at most 64)')
    .nullable(),
  channelTypes: uniqueList(channelSchema, channelNames.length).meta({
    description: "The thread's default channels, in order; [] = every channel a user can be reached on.",
  }),
  urgency: urgencySchema,
  openSubscribe: z.boolean().meta({ description: 'Anyone may subscribe.' }),
  openPublish: z.boolean().meta({ description: 'Any subscriber-to-be may publish.' }),
  admins: threadUsers(100),
  publishers: threadUsers(1000),
  experiment: experimentSchema.nullable(),
};

export interface ValidatorLimits {
  messageMaxBytes: number;
  /** Default 366 days. */
  timestampPastMs?: number;
  /** Default 5 minutes. */
  clockSkewMs?: number;
  clock?: () => number;
}

export function createValidators(limits: ValidatorLimits) {
  const window: TimestampWindow = {
    clock: limits.clock ?? Date.now,
    pastMs: limits.timestampPastMs ?? 366 * 86_400_000,
    clockSkewMs: limits.clockSkewMs ?? 300_000,
  };
  const optsSchema = optsSchemaFor(window);
  const msg = z
    .string()
    .min(1)
    .refine((text) => utf8Bytes(text) <= limits.messageMaxBytes, {
      message: `the message is longer than ${limits.messageMaxBytes} bytes`,
      params: tooLarge,
      abort: true,
    })
    .refine((text) => text.trim().length > 0, 'the message must not be blank')
    .meta({
      pattern: notBlankPattern,
      description: `The message text (at most ${limits.messageMaxBytes} bytes of UTF-8, not blank).`,
    });

  return {
    enlistIos: iosDeviceSchema,
    enlistAndroid: androidDeviceSchema,
    enlistWebPush: webPushSubscriptionSchema,
    enlist: z.union([iosDeviceSchema, androidDeviceSchema, webPushSubscriptionSchema]).meta({ title: 'EnlistBody' }),
    publish: z.strictObject({ tid: tidSchema, msg, opts: optsSchema.optional() }).meta({ title: 'PublishBody' }),
    subscription: z.strictObject({ tid: tidSchema }).meta({ title: 'SubscriptionBody' }),
    broadcast: z.strictObject({ msg, opts: optsSchema.optional() }).meta({ title: 'BroadcastBody' }),
    multicast: z
      .strictObject({ msg, uids: threadUsers(contract.multicastMaxUids).min(1), opts: optsSchema.optional() })
      .meta({ title: 'MulticastBody' }),
    send: z.strictObject({ msg, uid: uidSchema, opts: optsSchema.optional() }).meta({ title: 'SendBody' }),
    createThread: z
      .strictObject({
        name: threadFields.name,
        alias: threadFields.alias.optional(),
        channelTypes: threadFields.channelTypes.optional(),
        urgency: threadFields.urgency.optional(),
        openSubscribe: threadFields.openSubscribe.optional(),
        openPublish: threadFields.openPublish.optional(),
        admins: threadFields.admins.optional(),
        publishers: threadFields.publishers.optional(),
        experiment: threadFields.experiment.optional(),
      })
      .meta({ title: 'CreateThreadBody' }),
    updateThread: z
      .strictObject({
        name: threadFields.name.optional(),
        alias: threadFields.alias.optional(),
        channelTypes: threadFields.channelTypes.optional(),
        urgency: threadFields.urgency.optional(),
        openSubscribe: threadFields.openSubscribe.optional(),
        openPublish: threadFields.openPublish.optional(),
        admins: threadFields.admins.optional(),
        publishers: threadFields.publishers.optional(),
        experiment: threadFields.experiment.optional(),
      })
      .refine((patch) => Object.keys(patch).length > 0, 'nothing to change')
      .meta({ title: 'UpdateThreadBody', minProperties: 1 }),
    preferences: z
      .strictObject({
        tid: tidSchema.optional().meta({ description: "A thread's preferences instead of the global ones." }),
        channels: z.union([z.literal('~'), uniqueList(channelSchema, channelNames.length)]).meta({
          description: 'Accepted channels in order of preference; "~" = send me nothing; [] = no restriction.',
        }),
      })
      .meta({ title: 'PreferencesBody' }),
    ack: z
      .strictObject({
        messageId: messageIdSchema,
        channel: channelSchema.meta({ description: 'The channel the message arrived on.' }),
        status: z.enum(ackStatusNames),
        tid: tidSchema.optional(),
        deliveryId: printable(512).optional().meta({ description: 'The delivery id the message carried.' }),
        deviceId: printable(128).optional(),
        action: z.string().max(2048).optional().meta({ description: 'For clicked: the action or URL chosen.' }),
        at: z
          .int()
          .min(0)
          .max(8_640_000_000_000_000)
          .refine(
            (at) => at >= window.clock() - window.pastMs && at <= window.clock() + window.clockSkewMs,
            `at must lie between ${describeSpan(window.pastMs)} ago and ${describeSpan(window.clockSkewMs)} from now`,
          )
          .optional()
          .meta({
            description: `When it happened on the client, epoch ms (at most ${describeSpan(window.pastMs)} ago, ${describeSpan(window.clockSkewMs)} ahead); the server's receive time when absent.`,
          }),
      })
      .meta({ title: 'AckBody' }),
    read: z.strictObject({ tid: tidSchema, messageId: messageIdSchema }).meta({ title: 'ReadBody' }),
    catchUpQuery: z.strictObject({
      after: messageIdSchema.optional().meta({
        description: "Messages after this one; the caller's read marker when absent (the newest when there is none).",
      }),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    requestIdParam: z.strictObject({ requestId: requestIdSchema }),
    tidParam: z.strictObject({ tid: tidSchema }),
    messageParam: z.strictObject({ mid: messageIdSchema }),
    preferencesQuery: z.strictObject({ tid: tidSchema.optional() }),
  };
}

export type Validators = ReturnType<typeof createValidators>;
