import type { Client } from '../cassandra/index.ts';
import { mapLimit } from '../concurrency/index.ts';
import { createThreadStore } from '../store/thread.ts';
import { createUserStore, type Device as StoredDevice } from '../store/user.ts';
import type { AudienceSource } from './reindex.ts';
import { type AudienceDevices, type AudienceSnapshot, DEVICE_CHANNELS, type Device } from './types.ts';

/**
 * Every user as Cassandra (the source of truth) holds them, for `msgxc reindex`: the users table in
 * token order, and per user their devices, preferences, experiment variants and subscriptions, read
 * through the stores with a bounded number of users in flight.
 *
 * A snapshot is dated `skewMs` before its reads start: a change whose Cassandra write landed just
 * after the read (or was stamped by a host whose clock runs ahead) is then newer than the snapshot
 * and still applies when it arrives. Replaying a change the read already saw is harmless.
 * WebSocket presence is not stored in Cassandra, so a rebuilt document starts with `ws: false`.
 */
export interface CassandraSourceOptions {
  pageSize?: number;
  concurrency?: number;
  skewMs?: number;
}

export function cassandraAudienceSource(client: Client, options: CassandraSourceOptions = {}): AudienceSource {
  const users = createUserStore(client);
  const threads = createThreadStore(client);
  const pageSize = options.pageSize ?? 500;
  const concurrency = options.concurrency ?? 16;
  const skewMs = options.skewMs ?? 5_000;

  async function snapshotOf(uid: string, profile: Awaited<ReturnType<typeof users.getUser>>) {
    const at = Date.now() - skewMs;
    const [devices, preferences, variants, subscriptions] = await Promise.all([
      users.devicesOf(uid),
      users.preferencesOf(uid),
      users.variantsOf(uid),
      threads.subscriptionsOf(uid),
    ]);
    const snapshot: AudienceSnapshot = {
      uid,
      devices: devicesByChannel(devices),
      channels: preferences.global ?? [],
      threadPreferences: Object.entries(preferences.threads).map(([tid, channels]) => ({ tid, channels })),
      tids: subscriptions.map((subscription) => subscription.tid),
      cohorts: profile?.cohorts ?? [],
      splits: Object.entries(variants).map(([experiment, variant]) => ({ experiment, variant })),
      locale: profile?.locale ?? null,
      timeZone: profile?.timeZone ?? null,
      lastSeen: profile?.lastSeenAt?.getTime() ?? null,
      updatedAt: at,
    };
    return snapshot;
  }

  return {
    async count() {
      let total = 0;
      let cursor: string | null = null;
      do {
        const page = await users.usersPage(cursor, 5_000);
        total += page.users.length;
        cursor = page.next;
      } while (cursor);
      return total;
    },

    async *snapshots() {
      let cursor: string | null = null;
      do {
        const page = await users.usersPage(cursor, pageSize);
        if (page.users.length > 0) {
          yield await mapLimit(page.users, concurrency, (profile) => snapshotOf(profile.uid, profile));
        }
        cursor = page.next;
      } while (cursor);
    },
  };
}

function devicesByChannel(devices: StoredDevice[]): Partial<AudienceDevices> {
  const grouped: Partial<AudienceDevices> = {};
  for (const channel of DEVICE_CHANNELS) {
    grouped[channel] = devices
      .filter((device) => device.channel === channel)
      .map(
        (device): Device => ({
          channel: device.channel,
          id: device.id,
          token: device.token,
          subscription: device.subscription,
          address: device.address,
          platform: device.platform,
        }),
      );
  }
  return grouped;
}
