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
