import type { AudienceDoc, DeviceChannel } from '../../pipeline/audience-index/types.ts';
import type { Device } from '../../schemas/types.generated.ts';

/** The devices of a user on one address channel, newest first, skipping expired Web Push subscriptions. */
export function devicesOn(doc: AudienceDoc, channel: DeviceChannel, limit: number, now: number): Device[] {
  const devices: Device[] = [];
  for (const device of doc.devices[channel] ?? []) {
    if (devices.length >= limit) break;
    const expires = device.subscription?.expirationTime ?? null;
    if (expires !== null && expires <= now) continue;
    devices.push(device);
  }
  return devices;
}

/**
 * The key of one delivery: message, user and device. The gateway writes to every live connection of a
 * user, so a ws delivery is per user and its "device" part is `ws`; device ids are opaque tokens from
 * the user store, so the last part is unambiguous even when a uid contains the separator.
 */
export function deliveryIdOf(messageId: string, uid: string, deviceId: string | null): string {
  return `${messageId}:${uid}:${deviceId ?? 'ws'}`;
}
