import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Device } from '../../schemas/types.generated.ts';
import { parseConfig } from '../config/index.ts';
import { createDeviceSecrets, openSourceDevices, sealScriptInput } from './device-secrets.ts';

const key = (id: string) => ({ id, key: randomBytes(32) });
const apns: Device = {
  channel: 'apns',
  id: 'd1',
  token: 'a'.repeat(64),
  subscription: null,
  address: null,
  platform: 'ios',
};
const webpush: Device = {
  channel: 'webpush',
  id: 'd2',
  token: null,
  subscription: { endpoint: 'https://push.example/s/1', expirationTime: null, p256dh: 'BPub-key', auth: 'auth-secret' },
  address: null,
  platform: 'chrome',
};

describe('device secrets', () => {
  it('seals tokens and Web Push keys so the clear values appear nowhere, and opens them again', () => {
    const secrets = createDeviceSecrets([key('k1')]);
    const sealed = [secrets.seal('u1', apns), secrets.seal('u1', webpush)];
    const stored = JSON.stringify(sealed);
    for (const secret of [apns.token!, 'BPub-key', 'auth-secret']) expect(stored).not.toContain(secret);
    expect(sealed[0]?.token).toMatch(/^enc1\.k1\./);
    expect(sealed[1]?.subscription?.endpoint).toBe(webpush.subscription?.endpoint);
    expect(sealed.map((device) => secrets.open('u1', device))).toEqual([apns, webpush]);
  });

  it('seals the same value in the same place to the same bytes (repeated writes stay no-ops)', () => {
    const secrets = createDeviceSecrets([key('k1')]);
    expect(secrets.seal('u1', apns)).toEqual(secrets.seal('u1', apns));
    expect(secrets.seal('u1', apns).token).not.toBe(secrets.seal('u2', apns).token);
  });

  it('does not open a value moved to another user, altered, or sealed with a key it does not hold', () => {
    const secrets = createDeviceSecrets([key('k1')]);
    const sealed = secrets.seal('u1', apns);
    expect(secrets.open('u2', sealed)).toBeNull();
    const altered = `${sealed.token!.slice(0, -2)}${sealed.token!.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(secrets.open('u1', { ...sealed, token: altered })).toBeNull();
    expect(createDeviceSecrets([key('k1')]).open('u1', sealed)).toBeNull();
  });

  it('rotates: the first key seals, every listed key opens', () => {
    const old = key('k1');
    const sealedBefore = createDeviceSecrets([old]).seal('u1', webpush);
    const rotated = createDeviceSecrets([key('k2'), old]);
    expect(rotated.open('u1', sealedBefore)).toEqual(webpush);
    expect(rotated.seal('u1', webpush).subscription?.auth).toMatch(/^enc1\.k2\./);
  });

  it('reads values stored before sealing as they are, until a reindex seals them', () => {
    expect(createDeviceSecrets([key('k1')]).open('u1', apns)).toEqual(apns);
  });

  it('seals the devices of changes and snapshots, and opens a fetched document, leaving out what does not open', () => {
    const secrets = createDeviceSecrets([key('k1')]);
    const change = sealScriptInput(
      {
        mode: 'change',
        uid: 'u1',
        at: 1,
        ops: [{ k: 'device:apns:d1', t: 'device', ch: 'apns', id: 'd1', on: true, v: apns }],
      },
      secrets,
    );
    expect(JSON.stringify(change)).not.toContain(apns.token);
    const devices = { ws: false, webpush: [webpush], apns: [apns], fcm: [], sms: [], email: [] };
    const doc = {
      devices,
      channels: [],
      threadPreferences: [],
      tids: [],
      cohorts: [],
      splits: [],
      locale: null,
      timeZone: null,
      lastSeen: null,
    };
    const snapshot = sealScriptInput({ mode: 'snapshot', uid: 'u1', at: 1, doc }, secrets);
    if (snapshot.mode !== 'snapshot') throw new Error('expected a snapshot');
    expect(JSON.stringify(snapshot)).not.toContain('auth-secret');

    const foreign = createDeviceSecrets([key('k9')]).seal('u1', { ...apns, id: 'd3' });
    const source = { uid: 'u1', devices: { ...snapshot.doc.devices, apns: [...snapshot.doc.devices.apns, foreign] } };
    const unreadable: string[] = [];
    openSourceDevices(source, secrets, (_uid, device) => unreadable.push(device.id));
    expect(source.devices.apns).toEqual([apns]);
    expect(source.devices.webpush).toEqual([webpush]);
    expect(unreadable).toEqual(['d3']);
  });

  it('opens only the channels asked for, and empties the others rather than hand them out sealed', () => {
    const secrets = createDeviceSecrets([key('k1')]);
    const source = {
      uid: 'u1',
      devices: { ws: true, apns: [secrets.seal('u1', apns)], webpush: [secrets.seal('u1', webpush)], sms: [] },
    };
    const opened: string[] = [];
    const counting = {
      ...secrets,
      open(uid: string, device: Device) {
        opened.push(device.id);
        return secrets.open(uid, device);
      },
    };
    openSourceDevices(source, counting, () => undefined, new Set(['apns', 'ws']));
    expect(source.devices).toEqual({ ws: true, apns: [apns], webpush: [], sms: [] });
    expect(opened).toEqual(['d1']);
  });
});

describe('device keys in the configuration', () => {
  it('has a development key outside production and none in production, where the index refuses to start', () => {
    expect(parseConfig({}).devices.keys?.map((item) => item.id)).toEqual(['dev']);
    const production = parseConfig({ MSGXC_ENV: 'production' });
    expect(production.devices.keys).toBeUndefined();
    expect(() => createDeviceSecrets(production.devices.keys)).toThrow(/MSGXC_DEVICE_KEYS/);
  });

  it('reads id:base64 pairs, the first sealing, and refuses malformed lists', () => {
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    const config = parseConfig({ MSGXC_ENV: 'production', MSGXC_DEVICE_KEYS: `k2:${k2}, k1:${k1}` });
    expect(config.devices.keys?.map((item) => [item.id, item.key.toString('base64')])).toEqual([
      ['k2', k2],
      ['k1', k1],
    ]);
    for (const bad of [`k1:${randomBytes(16).toString('base64')}`, `k1:${k1},k1:${k2}`, k1, 'bad id:x']) {
      expect(() => parseConfig({ MSGXC_DEVICE_KEYS: bad })).toThrow(/MSGXC_DEVICE_KEYS/);
    }
  });
});
