import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { Device } from '../../schemas/types.generated.ts';
import type { DeviceKey } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';
import type { Json } from './adapters/types.ts';
import type { ScriptInput } from './changes.ts';
import { DEVICE_CHANNELS } from './types.ts';

/**
 * Device secrets — the APNs/FCM `token` and the Web Push `p256dh` and `auth` keys — are stored in the audience
 * index sealed with AES-256-GCM, so whoever can read the search cluster cannot push to a user's devices. A
 * sealed value is `enc1.<key id>.<base64url(iv ‖ ciphertext ‖ tag)>`; the key id names the key that opens it,
 * so keys rotate without rewriting the index at once (`config.devices.keys`: the first seals, all open).
 *
 * The IV is synthetic (an HMAC of the value and its context under a key of its own, as in AES-GCM-SIV):
 * sealing is deterministic, so a repeated change leaves the document as it was and the apply script still
 * reports it `unchanged`; GCM's nonce is then the same only for the same value in the same place. The
 * additional data binds a value to its user, device and field: a sealed token copied to another user's
 * document does not open. Equal tokens of one device have equal ciphertexts, which reveals nothing new (the
 * device id is derived from the token).
 */

export interface DeviceSecrets {
  /** The device as the index stores it: its secrets sealed. */
  seal(uid: string, device: Device): Device;
  /** The device as fanout needs it; null when a secret does not open (unknown key, altered value). */
  open(uid: string, device: Device): Device | null;
}

const FORMAT = 'enc1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Key objects, made once: handed a raw Buffer, every createDecipheriv imports the key again, which made an
 * open cost 15 µs instead of 3 (a broadcast opens a token or two per user).
 */
interface Subkeys {
  id: string;
  cipher: KeyObject;
  iv: KeyObject;
}

function subkeys({ id, key }: DeviceKey): Subkeys {
  const derive = (purpose: string) =>
    createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), purpose, 32)));
  return { id, cipher: derive('msgxc device secrets: aes-256-gcm'), iv: derive('msgxc device secrets: iv') };
}

export function createDeviceSecrets(keys: readonly DeviceKey[] | undefined): DeviceSecrets {
  if (!keys || keys.length === 0) {
    throw new MsgxcError(
      'DEVICE_KEYS_MISSING',
      'MSGXC_DEVICE_KEYS is not set: in production the audience index needs a key to seal device tokens ' +
        '(MSGXC_DEVICE_KEYS=<id>:<32 random bytes in base64>, e.g. `key1:$(openssl rand -base64 32)`)',
      { retriable: false, status: 500 },
    );
  }
  const derived = keys.map(subkeys);
  const sealing = derived[0]!;
  const byId = new Map(derived.map((key) => [key.id, key]));

  const sealValue = (context: string, plain: string): string => {
    const aad = Buffer.from(context, 'utf8');
    const iv = createHmac('sha256', sealing.iv).update(aad).update('\0').update(plain, 'utf8').digest();
    const nonce = iv.subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', sealing.cipher, nonce);
    cipher.setAAD(aad);
    const body = Buffer.concat([nonce, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${FORMAT}.${sealing.id}.${body.toString('base64url')}`;
  };

  /** The clear value; a value that is not sealed (written before sealing) is returned as it is. */
  const openValue = (context: string, stored: string): string | null => {
    const [format, id, encoded, extra] = stored.split('.');
    if (format !== FORMAT || encoded === undefined || extra !== undefined) return stored;
    const key = byId.get(id ?? '');
    const body = Buffer.from(encoded, 'base64url');
    if (!key || body.length < IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.cipher, body.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      // Not a failure to hide: an altered or foreign value makes the device unreachable, which open reports as null.
      return null;
    }
  };

  const place = (uid: string, device: Device, field: string) => `${uid}\0${device.channel}\0${device.id}\0${field}`;

  return {
    seal(uid, device) {
      const { token, subscription } = device;
      return {
        ...device,
        token: token === null ? null : sealValue(place(uid, device, 'token'), token),
        subscription:
          subscription === null
            ? null
            : {
                ...subscription,
                p256dh: sealValue(place(uid, device, 'p256dh'), subscription.p256dh),
                auth: sealValue(place(uid, device, 'auth'), subscription.auth),
              },
      };
    },
    open(uid, device) {
      const { token, subscription } = device;
      const openToken = token === null ? null : openValue(place(uid, device, 'token'), token);
      if (token !== null && openToken === null) return null;
      if (subscription === null) return { ...device, token: openToken };
      const p256dh = openValue(place(uid, device, 'p256dh'), subscription.p256dh);
      const auth = openValue(place(uid, device, 'auth'), subscription.auth);
      if (p256dh === null || auth === null) return null;
      return { ...device, token: openToken, subscription: { ...subscription, p256dh, auth } };
    },
  };
}

/** The script input with every device it carries sealed. */
export function sealScriptInput(input: ScriptInput, secrets: DeviceSecrets): ScriptInput {
  if (input.mode === 'change') {
    const ops = input.ops.map((op) =>
      op.t === 'device' && op.v !== null ? { ...op, v: secrets.seal(input.uid, op.v) } : op,
    );
    return { ...input, ops };
  }
  if (input.mode === 'snapshot') {
    const devices = { ...input.doc.devices };
    for (const channel of DEVICE_CHANNELS) {
      devices[channel] = devices[channel].map((device) => secrets.seal(input.uid, device));
    }
    return { ...input, doc: { ...input.doc, devices } };
  }
  return input;
}

/**
 * Opens the devices of a fetched `_source` in place (the object is ours). A device whose secrets do not open
 * is left out, and reported through `onUnreadable` (by uid and device id: never the value). With `channels`,
 * only those channels' devices are opened; the others' lists are emptied (never handed out sealed). With
 * `secrets` null the devices stay sealed (only the channel filter applies): their reader opens them later.
 */
export function openSourceDevices(
  source: Json,
  secrets: DeviceSecrets | null,
  onUnreadable: (uid: string, device: Device) => void,
  channels: ReadonlySet<string> | null = null,
): void {
  const uid = source.uid as string;
  const devices = source.devices as Record<string, Device[] | boolean> | undefined;
  if (!devices) return;
  for (const channel of DEVICE_CHANNELS) {
    const list = devices[channel];
    if (!Array.isArray(list)) continue;
    if (channels !== null && !channels.has(channel)) {
      devices[channel] = [];
      continue;
    }
    if (secrets === null) continue;
    const opened: Device[] = [];
    for (const device of list) {
      const open = secrets.open(uid, device);
      if (open) opened.push(open);
      else onUnreadable(uid, device);
    }
    devices[channel] = opened;
  }
}
