import type { Client } from 'cassandra-driver';
import { buildAudienceChange, type Recipient } from '../../schemas/types.generated.ts';
import type { OutputRecord } from '../runtime/types.ts';
import { createUserStore } from '../store/user.ts';
import type { DeviceChannel } from '../store/user-types.ts';

/**
 * A device the provider declared dead (404/410, Unregistered, BadDeviceToken, UNREGISTERED): removed from
 * Cassandra (remembered in dead_devices) and from the audience index through an AudienceChange, so fanout
 * never picks it again. A provider's "invalid since" older than the device's registration means the token
 * was registered again after it died: that registration is kept. A device already remembered as dead
 * yields its change again (same changeId), so a crash between the removal and the produce loses nothing.
 */
export interface Pruner {
  /** The audience change to produce, or null when nothing was removed. */
  prune(
    channel: DeviceChannel,
    recipient: Recipient,
    reason: string,
    invalidSince?: number,
  ): Promise<OutputRecord | null>;
}

export function createPruner(client: Client, source: string): Pruner {
  const users = createUserStore(client);
  return {
    async prune(channel, recipient, reason, invalidSince) {
      const device = recipient.device;
      if (device === null) return null;
      const current = (await users.devicesOf(recipient.uid, channel)).find((candidate) => candidate.id === device.id);
      let at: number;
      if (current === undefined) {
        // A redelivered batch after a crash between the Cassandra write and the produce: the device is gone
        // already, so the audience change may never have been produced. It is sent again with the same id.
        const dead = (await users.deadDevicesOf(recipient.uid)).find(
          (candidate) => candidate.channel === channel && candidate.id === device.id,
        );
        if (dead === undefined) return null;
        at = dead.detectedAt.getTime();
      } else {
        if (invalidSince !== undefined && current.addedAt.getTime() > invalidSince) return null;
        at = Date.now();
        await users.markDeviceDead(recipient.uid, channel, device.id, reason, new Date(at));
      }
      return {
        topic: 'audience',
        key: recipient.uid,
        value: buildAudienceChange({
          changeId: `prune:${channel}:${device.id}:${at}`,
          type: 'remove_device',
          uid: recipient.uid,
          at,
          device,
          source,
        }),
      };
    },
  };
}
