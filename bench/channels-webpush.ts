import { createCipheriv, createECDH, createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import webpush from 'web-push';
import { VapidCache } from '../stages/deliver-webpush/vapid.ts';

/**
 * Web Push CPU per message, in microseconds of process CPU: the stage's request building (web-push's
 * generateRequestDetails with the per-origin VAPID cache), the library with its defaults (a VAPID JWT signed
 * per message), and the crypto floor: what RFC 8291 + RFC 8292 cannot avoid (an ephemeral P-256 key pair and
 * ECDH, HKDF, AES-128-GCM, and the VAPID ES256 signature amortised over `perOrigin` messages).
 */
export function webPushCpu(count: number, perOrigin = 1_000) {
  const receiver = createECDH('prime256v1');
  receiver.generateKeys();
  const subscription = {
    endpoint: 'https://push.example.net/push/abc',
    keys: { p256dh: receiver.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:bench@msgxc.invalid' };
  const payload = Buffer.from(
    JSON.stringify({ messageId: 'm', deliveryId: 'd', title: 'Hello', body: 'x'.repeat(200) }),
  );
  const cpu = (work: () => void) => {
    const start = process.cpuUsage();
    for (let index = 0; index < count; index += 1) work();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / count;
  };
  const cache = new VapidCache(vapid);
  const stage = cpu(() => {
    webpush.generateRequestDetails(subscription, payload, {
      vapidDetails: null as unknown as undefined,
      contentEncoding: 'aes128gcm',
      TTL: 600,
      urgency: 'normal',
      headers: { Authorization: cache.authorizationFor(subscription.endpoint) },
    });
  });
  const library = cpu(() => {
    webpush.generateRequestDetails(subscription, payload, { vapidDetails: vapid, TTL: 600, urgency: 'normal' });
  });
  const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const authSecret = Buffer.from(subscription.keys.auth, 'base64url');
  const userKey = receiver.getPublicKey();
  let index = 0;
  const floor = cpu(() => {
    const local = createECDH('prime256v1');
    const localPublic = local.generateKeys();
    const secret = local.computeSecret(userKey);
    const prk = createHmac('sha256', authSecret).update(secret).digest();
    const ikm = createHmac('sha256', prk)
      .update(Buffer.concat([Buffer.from('WebPush: info\0'), userKey, localPublic, Buffer.from([1])]))
      .digest();
    const salt = randomBytes(16);
    const prk2 = createHmac('sha256', salt).update(ikm).digest();
    const key = createHmac('sha256', prk2).update('Content-Encoding: aes128gcm\0\x01').digest().subarray(0, 16);
    const nonce = createHmac('sha256', prk2).update('Content-Encoding: nonce\0\x01').digest().subarray(0, 12);
    const cipher = createCipheriv('aes-128-gcm', key, nonce);
    Buffer.concat([cipher.update(Buffer.concat([payload, Buffer.from([2])])), cipher.final(), cipher.getAuthTag()]);
    if (index++ % perOrigin === 0) createSign('SHA256').update('header.payload').sign(signer);
  });
  return { stage, library, floor };
}
