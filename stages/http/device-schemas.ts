import { z } from 'zod';

/** The three shapes a device is enlisted in: an APNs token, an FCM token, a browser's Web Push subscription. */

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
