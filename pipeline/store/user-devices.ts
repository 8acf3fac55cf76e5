import type { Client } from 'cassandra-driver';
import { batch, bindTo, date, execute, idempotent, type Row, type Statement, text } from './shared.ts';
import {
  checkDeviceChannel,
  type DeadDevice,
  type Device,
  type DeviceChannel,
  type DeviceInput,
  deviceId,
  type EnlistResult,
} from './user-types.ts';

const deviceColumns =
  'channel, added_at, device_id, push_token, endpoint, p256dh, auth, expiration_time, address, platform';

/**
 * A user's devices, newest first per channel. `devices_by_user` clusters by added_at DESC;
 * `device_owners` says which row a device occupies now, so re-enlisting deletes that row and writes
 * a newer one (one logged batch) instead of adding a duplicate. Part of the user store.
 */
interface DeviceContext {
  client: Client;
  maxDevices: number;
  ensureUser: (uid: string, at: Date) => Promise<boolean>;
}

export function createDeviceMethods(
  client: Client,
  maxDevices: number,
  ensureUser: (uid: string, at: Date) => Promise<boolean>,
) {
  const ctx: DeviceContext = { client, maxDevices, ensureUser };
  const bound = bindTo(ctx);
  return {
    enlistDevice: bound(enlistDevice),
    removeDevice: bound(removeDevice),
    /** Who holds a device now (e-mail feedback names an address, not a user). */
    ownerOf: bound(ownerOf),
    markDeviceDead: bound(markDeviceDead),
    deadDevicesOf: bound(deadDevicesOf),
    devicesOf: bound(devicesOf),
  };
}
async function devicesIn(ctx: DeviceContext, uid: string, channel: DeviceChannel): Promise<Device[]> {
  const result = await execute(
    ctx.client,
    `SELECT ${deviceColumns} FROM devices_by_user WHERE uid = ? AND channel = ?`,
    [uid, channel],
    'read devices',
  );
  return result.rows.map(toDevice);
}

async function ownerOf(
  ctx: DeviceContext,
  channel: DeviceChannel,
  id: string,
): Promise<{ uid: string; addedAt: Date } | null> {
  const row = (
    await execute(
      ctx.client,
      'SELECT uid, added_at FROM device_owners WHERE channel = ? AND device_id = ?',
      [channel, id],
      'read a device owner',
    )
  ).rows[0];
  return row ? { uid: row.get('uid') as string, addedAt: row.get('added_at') as Date } : null;
}

async function releaseOwnership(
  ctx: DeviceContext,
  uid: string,
  channel: DeviceChannel,
  id: string,
): Promise<Statement[]> {
  const owner = await ownerOf(ctx, channel, id);
  if (owner?.uid !== uid) return [];
  return [{ query: 'DELETE FROM device_owners WHERE channel = ? AND device_id = ?', params: [channel, id] }];
}

/** Deletes duplicate rows of one device (left by concurrent enlists) and devices past the cap. */
async function prune(ctx: DeviceContext, uid: string, channel: DeviceChannel): Promise<void> {
  const seen = new Set<string>();
  const statements: Statement[] = [];
  for (const device of await devicesIn(ctx, uid, channel)) {
    const duplicate = seen.has(device.id);
    seen.add(device.id);
    if (!duplicate && seen.size <= ctx.maxDevices) continue;
    statements.push(deleteDeviceRow(uid, device));
    if (!duplicate) statements.push(...(await releaseOwnership(ctx, uid, channel, device.id)));
  }
  await batch(ctx.client, statements, 'prune devices');
}

/** Removes a device from a user; returns whether the user had it. */
async function removeDevice(ctx: DeviceContext, uid: string, channel: DeviceChannel, id: string): Promise<boolean> {
  const rows = (await devicesIn(ctx, uid, checkDeviceChannel(channel))).filter((device) => device.id === id);
  if (rows.length === 0) return false;
  const release = await releaseOwnership(ctx, uid, channel, id);
  await batch(ctx.client, [...rows.map((device) => deleteDeviceRow(uid, device)), ...release], 'remove a device');
  return true;
}

/**
 * Adds a device, or moves an already enlisted one first (idempotent). A token another user held
 * moves to this user; `previousOwner` names them so their audience entry can be updated too.
 */
async function enlistDevice(
  ctx: DeviceContext,
  uid: string,
  input: DeviceInput,
  at = new Date(),
): Promise<EnlistResult> {
  const channel = checkDeviceChannel(input.channel);
  const id = deviceId(input);
  // Every user with a device has a users row: the reindex scans that table.
  await ctx.ensureUser(uid, at);
  const previous = await ownerOf(ctx, channel, id);
  // Strictly later than the old row, so the new row sorts first and is never the row being deleted.
  const addedAt =
    previous && previous.addedAt.getTime() >= at.getTime() ? new Date(previous.addedAt.getTime() + 1) : at;
  const device: Device = {
    channel,
    id,
    token: 'token' in input ? input.token : null,
    subscription: 'subscription' in input ? input.subscription : null,
    address: 'address' in input ? input.address : null,
    platform: input.platform ?? null,
    addedAt,
  };
  const statements: Statement[] = [];
  if (previous) statements.push(deleteDeviceRow(previous.uid, { channel, id, addedAt: previous.addedAt }));
  const subscription = device.subscription;
  statements.push(
    {
      query: `INSERT INTO devices_by_user (uid, ${deviceColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [
        uid,
        channel,
        addedAt,
        id,
        device.token,
        subscription?.endpoint ?? null,
        subscription?.p256dh ?? null,
        subscription?.auth ?? null,
        subscription?.expirationTime == null ? null : new Date(subscription.expirationTime),
        device.address,
        device.platform,
      ],
    },
    {
      query: 'INSERT INTO device_owners (channel, device_id, uid, added_at) VALUES (?, ?, ?, ?)',
      params: [channel, id, uid, addedAt],
    },
  );
  await batch(ctx.client, statements, 'enlist a device');
  await prune(ctx, uid, channel);
  const moved = previous !== null && previous.uid !== uid;
  return { device, created: previous === null || moved, previousOwner: moved ? previous.uid : null };
}

/** A provider said the device is gone: remove it and remember why (30 days). */
async function markDeviceDead(
  ctx: DeviceContext,
  uid: string,
  channel: DeviceChannel,
  id: string,
  reason: string,
  at = new Date(),
) {
  // Remembered before the removal: a crash in between leaves the device listed, so a retry removes it.
  await execute(
    ctx.client,
    'INSERT INTO dead_devices (uid, channel, device_id, reason, detected_at) VALUES (?, ?, ?, ?, ?)',
    [uid, channel, id, reason, at],
    'record a dead device',
    idempotent,
  );
  return removeDevice(ctx, uid, channel, id);
}

async function deadDevicesOf(ctx: DeviceContext, uid: string): Promise<DeadDevice[]> {
  const result = await execute(
    ctx.client,
    'SELECT channel, device_id, reason, detected_at FROM dead_devices WHERE uid = ?',
    [uid],
    'read dead devices',
  );
  return result.rows.map((row) => ({
    channel: row.get('channel') as DeviceChannel,
    id: row.get('device_id') as string,
    reason: row.get('reason') as string,
    detectedAt: row.get('detected_at') as Date,
  }));
}

/** A user's devices, newest first; only one channel's when given. */
async function devicesOf(ctx: DeviceContext, uid: string, channel?: DeviceChannel): Promise<Device[]> {
  const devices = channel
    ? await devicesIn(ctx, uid, checkDeviceChannel(channel))
    : (
        await execute(ctx.client, `SELECT ${deviceColumns} FROM devices_by_user WHERE uid = ?`, [uid], 'read devices')
      ).rows.map(toDevice);
  // Rows are newest first, so the first row of an id is the live one; later ones are leftovers.
  const seen = new Set<string>();
  const live = devices.filter((device) => {
    const key = `${device.channel}/${device.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // Across channels too, the newest comes first.
  return live.sort((a, b) => b.addedAt.getTime() - a.addedAt.getTime());
}

function deleteDeviceRow(uid: string, device: Pick<Device, 'channel' | 'id' | 'addedAt'>): Statement {
  return {
    query: 'DELETE FROM devices_by_user WHERE uid = ? AND channel = ? AND added_at = ? AND device_id = ?',
    params: [uid, device.channel, device.addedAt, device.id],
  };
}

function toDevice(row: Row): Device {
  const endpoint = text(row, 'endpoint');
  const expiration = date(row, 'expiration_time');
  return {
    channel: row.get('channel') as DeviceChannel,
    id: row.get('device_id') as string,
    token: text(row, 'push_token'),
    subscription:
      endpoint === null
        ? null
        : {
            endpoint,
            expirationTime: expiration?.getTime() ?? null,
            p256dh: text(row, 'p256dh') ?? '',
            auth: text(row, 'auth') ?? '',
          },
    address: text(row, 'address'),
    platform: text(row, 'platform'),
    addedAt: row.get('added_at') as Date,
  };
}
