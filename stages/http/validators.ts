import { z } from 'zod';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { type Channel, ChannelSymbols } from '../../schemas/types.generated.ts';

/**
 * Every body, path and query the facade accepts, as zod schemas. The same schemas validate requests and
 * generate the OpenAPI document, so the two cannot drift. Built by a factory because the message size
 * limit is configuration.
 */

/** The channels a caller may name: the Avro `dev.msgxc.Channel` symbols. */
export const channelNames = ChannelSymbols;
export type ChannelName = Channel;
export const urgencyNames = ['very-low', 'low', 'normal', 'high'] as const;

/** Marks an issue that means "too large" rather than "wrong", so the facade answers 413. */
const tooLarge = { status: 413 } as const;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

export const uidSchema = z
  .string()
  .min(1)
  .max(256)
  .refine(
    (uid) => !/\s/.test(uid) && ![...uid].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f),
    'must not contain spaces or control characters',
  )
  .meta({ description: 'A user id (the JWT `sub` of that user).' });

export const tidSchema = z.uuid().meta({ description: 'A thread id (UUID).' });
export const messageIdSchema = z
  .uuid({ version: 'v1' })
  .meta({ description: 'A message id (a time UUID, version 1).' });
export const channelSchema = z.enum(channelNames).meta({ description: 'A delivery channel.' });

/** No control characters: ids end up in Kafka keys, Cassandra keys and log lines. */
const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine(
      (text) => ![...text].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f),
      'must not contain control characters',
    );

export const requestIdSchema = printable(200).meta({
  description: 'A request id: the `msgxc-request-id` a publish answered with, or the id a service produced.',
});

export const ackStatusNames = ['delivered', 'opened', 'clicked', 'dismissed'] as const;

const uniqueList = <T extends z.ZodType>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .refine((list) => new Set(list).size === list.length, 'must not repeat an entry');

export const urgencySchema = z
  .union([z.int().min(1).max(4), z.enum(urgencyNames)])
  .transform((value) => (typeof value === 'number' ? value : urgencyNames.indexOf(value) + 1))
  .meta({ description: '1 very-low, 2 low, 3 normal, 4 high (RFC 8030); a number or the name.' });

const timestampSchema = z
  .union([z.int().min(0).max(8_640_000_000_000_000), z.iso.datetime({ offset: true })])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
  .meta({ description: 'Epoch milliseconds or an ISO 8601 date-time.' });

const dataKey = z
  .string()
  .regex(/^(?!__proto__$)[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'keys are letters, digits, _ . - (at most 64)');
const dataSchema = z
  .record(dataKey, z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]))
  .refine((record) => Object.keys(record).length <= 64, 'at most 64 keys')
  .meta({ description: 'Application payload delivered to the client (flat: strings, numbers, booleans).' });

/** The seed's `opts`: known fields are checked, others are kept verbatim for the channel adapters. */
export const optsSchema = z
  .looseObject({
    subject: z.string().min(1).max(256).optional().meta({ description: 'Title or e-mail subject.' }),
    urgency: urgencySchema.optional(),
    channels: uniqueList(channelSchema, channelNames.length)
      .min(1)
      .optional()
      .meta({ description: 'Restrict delivery to these channels.' }),
    ttl: z.int().min(0).max(2_419_200).optional().meta({ description: 'Lifetime in seconds (at most 28 days).' }),
    expiresAt: timestampSchema.optional(),
    scheduledAt: timestampSchema.optional(),
    collapseKey: z.string().min(1).max(64).optional(),
    experimentId: z.string().min(1).max(128).optional(),
    data: dataSchema.optional(),
  })
  .meta({
    title: 'Opts',
    description: 'Delivery options; unknown keys are passed to the channel adapters as they are.',
  });

export type Opts = z.output<typeof optsSchema>;

const base64urlBytes = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`)
    .refine((value) => Buffer.from(value, 'base64url').length === bytes, `${what} must be ${bytes} bytes`);

export const iosDeviceSchema = z
  .strictObject({
    os: z.literal('ios'),
    token: z.string().regex(/^[0-9a-fA-F]{64,200}$/, 'an APNs device token is 64 to 200 hex digits'),
  })
  .meta({ title: 'IosDevice' });
export const androidDeviceSchema = z
  .strictObject({
    os: z.literal('android'),
    token: z
      .string()
      .min(16)
      .max(4096)
      .regex(/^[A-Za-z0-9_:.-]+$/, 'an FCM registration token is letters, digits and _ : . -'),
  })
  .meta({ title: 'AndroidDevice' });
export const webPushSubscriptionSchema = z
  .strictObject({
    endpoint: z.url().max(2048),
    expirationTime: z.int().min(0).nullable().optional(),
    keys: z.strictObject({
      p256dh: base64urlBytes(65, 'p256dh').refine(
        (value) => Buffer.from(value, 'base64url')[0] === 4,
        'p256dh must be an uncompressed P-256 point',
      ),
      auth: base64urlBytes(16, 'auth'),
    }),
  })
  .meta({ title: 'WebPushSubscription', description: "A browser's PushSubscription.toJSON()." });
export type IosDevice = z.output<typeof iosDeviceSchema>;
export type AndroidDevice = z.output<typeof androidDeviceSchema>;
export type WebPushSubscriptionBody = z.output<typeof webPushSubscriptionSchema>;
export type DeviceBody = IosDevice | AndroidDevice | WebPushSubscriptionBody;

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
  name: z.string().trim().min(1).max(200),
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

export function createValidators(limits: { messageMaxBytes: number }) {
  const msg = z
    .string()
    .min(1)
    .refine((text) => utf8Bytes(text) <= limits.messageMaxBytes, {
      message: `the message is longer than ${limits.messageMaxBytes} bytes`,
      params: tooLarge,
      abort: true,
    })
    .meta({ description: `The message text (at most ${limits.messageMaxBytes} bytes of UTF-8).` });

  return {
    enlistIos: iosDeviceSchema,
    enlistAndroid: androidDeviceSchema,
    enlistWebPush: webPushSubscriptionSchema,
    enlist: z.union([iosDeviceSchema, androidDeviceSchema, webPushSubscriptionSchema]).meta({ title: 'EnlistBody' }),
    publish: z.strictObject({ tid: tidSchema, msg, opts: optsSchema.optional() }).meta({ title: 'PublishBody' }),
    subscription: z.strictObject({ tid: tidSchema }).meta({ title: 'SubscriptionBody' }),
    broadcast: z.strictObject({ msg, opts: optsSchema.optional() }).meta({ title: 'BroadcastBody' }),
    multicast: z
      .strictObject({ msg, uids: threadUsers(10_000).min(1), opts: optsSchema.optional() })
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
      .meta({ title: 'UpdateThreadBody' }),
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
          .optional()
          .meta({ description: "When it happened on the client, epoch ms; the server's receive time when absent." }),
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
