import { createHash } from 'node:crypto';
import { MsgxcError } from '../errors/index.ts';
import type { Channel } from './shared.ts';

/** Channels reached through a stored address (ws is reached through a live connection instead). */
export const DEVICE_CHANNELS = ['apns', 'fcm', 'webpush', 'sms', 'email'] as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];

/** A browser's PushSubscription, flattened the way the Avro `WebPushSubscription` record is. */
export interface WebPushSubscription {
  endpoint: string;
  /** Epoch milliseconds, or null when the browser gave none. */
  expirationTime: number | null;
  p256dh: string;
  auth: string;
}

export type DeviceInput =
  | { channel: 'apns' | 'fcm'; token: string; platform?: string | null }
  | { channel: 'webpush'; subscription: WebPushSubscription; platform?: string | null }
  | { channel: 'sms' | 'email'; address: string; platform?: string | null };

/** A stored device: the Avro `dev.msgxc.Device` fields plus when it was (last) enlisted. */
export interface Device {
  channel: DeviceChannel;
  /** Stable within the channel: a hash of the token, endpoint or address. */
  id: string;
  token: string | null;
  subscription: WebPushSubscription | null;
  address: string | null;
  platform: string | null;
  addedAt: Date;
}

export interface EnlistResult {
  device: Device;
  /** False when this user already had this device (it was only moved first). */
  created: boolean;
  /** The user who held this token before, when it changed hands (their devices changed too). */
  previousOwner: string | null;
}

export interface UserProfile {
  uid: string;
  locale: string | null;
  timeZone: string | null;
  cohorts: string[];
  createdAt: Date | null;
  updatedAt: Date | null;
  lastSeenAt: Date | null;
}

export interface ProfilePatch {
  locale?: string | null;
  timeZone?: string | null;
  cohorts?: string[];
}

/** Channels in preference order, or `["~"]` for "send me nothing". */
export type ChannelPreference = Channel[] | ['~'];

export interface Preferences {
  /** The user's global preference; null when never set (the thread's defaults apply). */
  global: ChannelPreference | null;
  /** Per-thread preferences by tid. */
  threads: Record<string, ChannelPreference>;
}

export interface DeadDevice {
  channel: DeviceChannel;
  id: string;
  reason: string;
  detectedAt: Date;
}

/** The address a device is reached at; its hash is the device id. */
export function deviceAddress(device: DeviceInput): string {
  if ('subscription' in device) return device.subscription.endpoint;
  return 'address' in device ? device.address : device.token;
}

/** The stable device id: 32 hex characters of sha256(channel, address). */
export function deviceId(device: DeviceInput): string {
  return createHash('sha256')
    .update(`${device.channel}\n${deviceAddress(device)}`)
    .digest('hex')
    .slice(0, 32);
}

/** The seed API's enlist bodies: `{os:"ios",token}`, `{os:"android",token}` or a Web Push subscription. */
export type EnlistBody =
  | { os: 'ios' | 'android'; token: string }
  | { endpoint: string; expirationTime?: number | null; keys: { p256dh: string; auth: string } };

export function deviceFromEnlist(body: EnlistBody): DeviceInput {
  if ('os' in body) {
    return body.os === 'ios'
      ? { channel: 'apns', token: body.token, platform: 'ios' }
      : { channel: 'fcm', token: body.token, platform: 'android' };
  }
  return {
    channel: 'webpush',
    subscription: {
      endpoint: body.endpoint,
      expirationTime: body.expirationTime ?? null,
      p256dh: body.keys.p256dh,
      auth: body.keys.auth,
    },
    platform: null,
  };
}

export function checkDeviceChannel(channel: string): DeviceChannel {
  if (!(DEVICE_CHANNELS as readonly string[]).includes(channel)) {
    throw new MsgxcError('INVALID_CHANNEL', `devices are enlisted on ${DEVICE_CHANNELS.join(', ')}`, { status: 400 });
  }
  return channel as DeviceChannel;
}
