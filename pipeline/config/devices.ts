import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The keys that seal device secrets (Web Push `p256dh`/`auth`, APNs/FCM tokens) in the audience index:
 * `MSGXC_DEVICE_KEYS=<id>:<32 bytes in base64>[,<id>:<key>…]`. The first key seals; every listed key opens,
 * so a rotation lists the new key first and keeps the old ones until `msgxc reindex` has rewritten the index.
 */
const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/;

const deviceKeyList = z.string().transform((value, context) => {
  const keys: DeviceKey[] = [];
  for (const entry of value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const separator = entry.indexOf(':');
    const id = entry.slice(0, separator);
    const key = Buffer.from(entry.slice(separator + 1), 'base64');
    if (separator < 1 || !keyIdPattern.test(id)) {
      context.addIssue({ code: 'custom', message: 'each key is <id>:<base64 key>, the id of letters, digits, _ or -' });
      return z.NEVER;
    }
    if (key.length !== 32) {
      context.addIssue({ code: 'custom', message: `key ${id} is ${key.length} bytes; AES-256 needs 32 (base64)` });
      return z.NEVER;
    }
    if (keys.some((known) => known.id === id)) {
      context.addIssue({ code: 'custom', message: `key id ${id} is listed twice` });
      return z.NEVER;
    }
    keys.push({ id, key });
  }
  if (keys.length === 0) {
    context.addIssue({ code: 'custom', message: 'lists no key' });
    return z.NEVER;
  }
  return keys;
});

export const devicesEnv = z.object({
  MSGXC_DEVICE_KEYS: deviceKeyList.optional(),
});

export interface DeviceKey {
  /** Stored beside each sealed value, so a value names the key that opens it. */
  id: string;
  key: Buffer;
}

export interface DevicesConfig {
  /** Sealing key first; undefined in production when none is configured (the audience index then refuses to start). */
  keys: DeviceKey[] | undefined;
}

/** The key outside production when none is configured: derived from a public string, so never for real users. */
export const developmentDeviceKey: DeviceKey = {
  id: 'dev',
  key: createHash('sha256').update('msgxc-development-device-key-do-not-use-in-production').digest(),
};

export function devicesConfig(env: z.infer<typeof devicesEnv>, production: boolean): DevicesConfig {
  return { keys: env.MSGXC_DEVICE_KEYS ?? (production ? undefined : [developmentDeviceKey]) };
}
