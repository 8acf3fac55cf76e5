import { z } from 'zod';
import { defaultLimits, idProblem } from '../../pipeline/contract/ingest.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { type Channel, ChannelSymbols } from '../../schemas/types.generated.ts';

/**
 * Every body, path and query the facade accepts, as zod schemas. The same schemas validate requests and
 * generate the OpenAPI document, so the two cannot drift. They hold the ingest contract's limits
 * (pipeline/contract), so a body they accept builds a record prioritize accepts; the facade still runs the
 * contract on the record it built before producing it. Built by a factory because the message size limit
 * and the timestamp window are configuration, and the window moves with the clock.
 */

const contract = defaultLimits;

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
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  description:
    'An ingest request id: the `msgxc-request-id` a publish answered with, or the id a service produced (not the HTTP `x-request-id`).',
});

export const ackStatusNames = ['delivered', 'opened', 'clicked', 'dismissed'] as const;

const uniqueList = <T extends z.ZodType>(item: T, max: number) =>
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
const timestampSchema = (window: TimestampWindow, aheadMs: number, what: string) =>
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

const describeSpan = (ms: number) =>
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
const notBlankPattern =
  '[^\\u0009-\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]';

/** Text the contract will carry: not blank, at most `maxBytes` of UTF-8. */
const boundedText = (maxBytes: number, what: string) =>
  z
    .string()
    .min(1)
    .refine((text) => text.trim().length > 0, `${what} must not be blank`)
    .refine((text) => utf8Bytes(text) <= maxBytes, `${what} must be at most ${maxBytes} bytes of UTF-8`)
    .meta({ pattern: notBlankPattern });

/** An id by the contract's rule (not blank, no control characters, at most `maxLength`). */
const contractId = (what: string, maxLength: number) =>
  z
    .string()
    .min(1)
    .max(maxLength)
    .superRefine((value, ctx) => {
      const problem = idProblem(what, value, maxLength);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });

const jsonBytes = (value: unknown) => utf8Bytes(JSON.stringify(value));

const dataKeyPattern = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const dataKey = z.string().regex(dataKeyPattern, 'keys are letters, digits, _ . - (at most 64)');
const dataSchema = z
  .record(dataKey, z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]))
  .refine((record) => Object.keys(record).length <= 64, 'at most 64 keys')
  .meta({
    maxProperties: 64,
    description: 'Application payload delivered to the client (flat: strings, numbers, booleans).',
  });

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
      // The patterns say in the document exactly what the checks accept: 65 bytes starting 0x04 are 87
      // base64url characters starting "B" then A–P; 16 bytes are 22 characters (padding ignored).
      p256dh: base64urlBytes(65, 'p256dh')
        .refine((value) => Buffer.from(value, 'base64url')[0] === 4, 'p256dh must be an uncompressed P-256 point')
        .meta({ pattern: '^B[A-P][A-Za-z0-9_-]{85}={0,2}$', description: 'An uncompressed P-256 point (65 bytes).' }),
      auth: base64urlBytes(16, 'auth').meta({ pattern: '^[A-Za-z0-9_-]{22}={0,2}$', description: '16 bytes.' }),
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
