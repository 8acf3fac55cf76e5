import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUserStore,
  type DeviceInput,
  deviceFromEnlist,
  deviceId,
  isOptedOut,
  type UserStore,
} from '../../pipeline/store/index.ts';
import { createTestKeyspace, type TestKeyspace } from './support.ts';

let keyspace: TestKeyspace;
let users: UserStore;

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  users = createUserStore(keyspace.client, { maxDevicesPerChannel: 3 });
});
afterAll(async () => keyspace?.dispose());

const at = (offsetMs: number) => new Date(Date.UTC(2026, 0, 1) + offsetMs);
const apns = (token: string): DeviceInput => ({ channel: 'apns', token, platform: 'ios' });

describe('user store: devices', () => {
  it('puts the newest device first, and re-enlisting a token moves it first without duplicating it', async () => {
    const uid = 'u-devices';
    expect((await users.enlistDevice(uid, apns('token-a'), at(1))).created).toBe(true);
    expect((await users.enlistDevice(uid, apns('token-b'), at(2))).created).toBe(true);
    expect((await users.devicesOf(uid, 'apns')).map((d) => d.token)).toEqual(['token-b', 'token-a']);

    const again = await users.enlistDevice(uid, apns('token-a'), at(3));
    expect(again).toMatchObject({ created: false, previousOwner: null });
    expect((await users.devicesOf(uid, 'apns')).map((d) => d.token)).toEqual(['token-a', 'token-b']);

    // Same token, same instant (a retried request): still one device.
    await users.enlistDevice(uid, apns('token-a'), at(3));
    const devices = await users.devicesOf(uid);
    expect(devices.map((d) => d.token)).toEqual(['token-a', 'token-b']);
    expect(devices[0]?.id).toEqual(deviceId(apns('token-a')));
    expect(devices[0]?.addedAt.getTime()).toBeGreaterThan(at(3).getTime() - 1);
  });

  it('stores the three seed enlist shapes with their fields', async () => {
    const uid = 'u-shapes';
    await users.enlistDevice(uid, deviceFromEnlist({ os: 'ios', token: 'apple-1' }), at(10));
    await users.enlistDevice(uid, deviceFromEnlist({ os: 'android', token: 'google-1' }), at(11));
    await users.enlistDevice(
      uid,
      deviceFromEnlist({
        endpoint: 'https://push.example.test/sub/1',
        expirationTime: at(99).getTime(),
        keys: { p256dh: 'BPublicKey', auth: 'secret-auth' },
      }),
      at(12),
    );
    const byChannel = Object.fromEntries((await users.devicesOf(uid)).map((d) => [d.channel, d]));
    expect(byChannel.apns).toMatchObject({ token: 'apple-1', platform: 'ios', subscription: null });
    expect(byChannel.fcm).toMatchObject({ token: 'google-1', platform: 'android' });
    expect(byChannel.webpush).toMatchObject({
      token: null,
      subscription: {
        endpoint: 'https://push.example.test/sub/1',
        expirationTime: at(99).getTime(),
        p256dh: 'BPublicKey',
        auth: 'secret-auth',
      },
    });
    // Without a channel the list is newest first across channels.
    expect((await users.devicesOf(uid)).map((d) => d.channel)).toEqual(['webpush', 'fcm', 'apns']);
  });

  it('moves a token that changed hands to its new user and names the previous one', async () => {
    await users.enlistDevice('u-old', apns('shared-phone'), at(20));
    const moved = await users.enlistDevice('u-new', apns('shared-phone'), at(21));
    expect(moved).toMatchObject({ created: true, previousOwner: 'u-old' });
    expect(await users.devicesOf('u-old')).toEqual([]);
    expect((await users.devicesOf('u-new')).map((d) => d.token)).toEqual(['shared-phone']);
  });

  it('keeps at most the configured number of devices per channel, dropping the oldest', async () => {
    const uid = 'u-cap';
    for (let index = 0; index < 5; index += 1) await users.enlistDevice(uid, apns(`cap-${index}`), at(30 + index));
    expect((await users.devicesOf(uid, 'apns')).map((d) => d.token)).toEqual(['cap-4', 'cap-3', 'cap-2']);
    // The dropped token is free: another user enlisting it is not told about a previous owner.
    expect((await users.enlistDevice('u-cap-2', apns('cap-0'), at(40))).previousOwner).toBeNull();
  });

  it('removes a device, and records a dead one', async () => {
    const uid = 'u-remove';
    await users.enlistDevice(uid, apns('gone'), at(50));
    await users.enlistDevice(uid, apns('dead'), at(51));
    expect(await users.removeDevice(uid, 'apns', deviceId(apns('gone')))).toBe(true);
    expect(await users.removeDevice(uid, 'apns', deviceId(apns('gone')))).toBe(false);
    expect(await users.markDeviceDead(uid, 'apns', deviceId(apns('dead')), 'Unregistered', at(52))).toBe(true);
    expect(await users.devicesOf(uid)).toEqual([]);
    expect(await users.deadDevicesOf(uid)).toEqual([
      { channel: 'apns', id: deviceId(apns('dead')), reason: 'Unregistered', detectedAt: at(52) },
    ]);
  });
});

describe('user store: profile, preferences, variants', () => {
  it('creates a user once and patches only the given fields', async () => {
    expect(await users.ensureUser('u-profile', at(0))).toBe(true);
    expect(await users.ensureUser('u-profile', at(5))).toBe(false);
    await users.upsertUser('u-profile', { locale: 'fr-FR', timeZone: 'Europe/Paris' }, at(1));
    await users.upsertUser('u-profile', { cohorts: ['beta', 'paris'] }, at(2));
    expect(await users.getUser('u-profile')).toEqual({
      uid: 'u-profile',
      locale: 'fr-FR',
      timeZone: 'Europe/Paris',
      cohorts: ['beta', 'paris'],
      createdAt: at(0),
      updatedAt: at(2),
      lastSeenAt: null,
    });
  });

  it('never moves last seen back, whatever order the touches arrive in', async () => {
    await users.touchUser('u-seen', at(5_000));
    await users.touchUser('u-seen', at(1_000));
    expect((await users.getUser('u-seen'))?.lastSeenAt).toEqual(at(5_000));
  });

  it('keeps global and per-thread preferences, "~" meaning nothing, and refuses unknown channels', async () => {
    const uid = 'u-prefs';
    expect(await users.preferencesOf(uid)).toEqual({ global: null, threads: {} });
    await users.setPreferences(uid, ['webpush', 'ws']);
    await users.setPreferences(uid, ['~'], 'thread-muted');
    await users.setPreferences(uid, ['sms'], 'thread-sms');
    const preferences = await users.preferencesOf(uid);
    expect(preferences).toEqual({
      global: ['webpush', 'ws'],
      threads: { 'thread-muted': ['~'], 'thread-sms': ['sms'] },
    });
    expect(isOptedOut(preferences.threads['thread-muted'] ?? null)).toBe(true);
    expect(isOptedOut(preferences.global)).toBe(false);

    await users.setPreferences(uid, null, 'thread-sms');
    expect((await users.preferencesOf(uid)).threads).toEqual({ 'thread-muted': ['~'] });
    await expect(users.setPreferences(uid, ['pigeon'])).rejects.toMatchObject({
      code: 'INVALID_CHANNELS',
      status: 400,
    });
    await expect(users.setPreferences(uid, ['~', 'ws'])).rejects.toMatchObject({ code: 'INVALID_CHANNELS' });
  });

  it('records experiment variants per user', async () => {
    await users.recordVariant('u-exp', 'exp-1', 'b');
    await users.recordVariant('u-exp', 'exp-2', 'control');
    await users.recordVariant('u-exp', 'exp-1', 'b');
    expect(await users.variantsOf('u-exp')).toEqual({ 'exp-1': 'b', 'exp-2': 'control' });
  });

  it('scans every user page by page', async () => {
    const uids = Array.from({ length: 25 }, (_, index) => `u-scan-${index}`);
    for (const uid of uids) await users.ensureUser(uid);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<UserStore['usersPage']>> = await users.usersPage(cursor, 7);
      expect(page.users.length).toBeLessThanOrEqual(7);
      seen.push(...page.users.map((user) => user.uid));
      cursor = page.next;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBeGreaterThan(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(uids));
  });
});
