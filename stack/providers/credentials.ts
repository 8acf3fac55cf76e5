import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webpush from 'web-push';

/** Throw-away provider credentials for the local provider servers (tests and the sandbox): they reach no real provider. */
export function localCredentials() {
  const dir = mkdtempSync(join(tmpdir(), 'msgxc-delivery-'));
  const apnsKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const apnsKeyFile = join(dir, 'AuthKey_TESTKEY123.p8');
  writeFileSync(apnsKeyFile, apnsKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const fcmKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const fcmCredentialsFile = join(dir, 'service-account.json');
  const clientEmail = 'msgxc-test@msgxc-local.iam.gserviceaccount.com';
  writeFileSync(
    fcmCredentialsFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'msgxc-local',
      client_email: clientEmail,
      private_key: fcmKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    }),
  );
  return {
    dir,
    vapid: { ...webpush.generateVAPIDKeys(), subject: 'mailto:test@msgxc.invalid' },
    apns: {
      keyFile: apnsKeyFile,
      keyId: 'TESTKEY123',
      teamId: 'TEAM123456',
      topic: 'dev.msgxc.test',
      publicKeyPem: String(apnsKey.publicKey.export({ type: 'spki', format: 'pem' })),
    },
    fcm: {
      credentialsFile: fcmCredentialsFile,
      projectId: 'msgxc-local',
      clientEmail,
      publicKeyPem: String(fcmKey.publicKey.export({ type: 'spki', format: 'pem' })),
    },
  };
}
