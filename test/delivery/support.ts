import type { Api } from '../../bench/harness/api.ts';
import { tokenFor } from '../../bench/harness/api.ts';
import { type MsgxcProcess, spawnMsgxc } from '../../bench/harness/processes.ts';
import { indexed } from '../../bench/harness/readiness.ts';
import { freePort, type System } from '../../bench/harness/system.ts';
import { type ApnsServer, startApnsServer } from '../../stack/providers/apns.ts';
import { certificateFile } from '../../stack/providers/common.ts';
import { localCredentials } from '../../stack/providers/credentials.ts';
import { type FcmServer, startFcmServer } from '../../stack/providers/fcm.ts';
import { startWebPushServer, type WebPushServer } from '../../stack/providers/webpush.ts';

/** The three local push providers and the environment that points msgxc's delivery stages at them. */
export interface Providers {
  webpush: WebPushServer;
  apns: ApnsServer;
  fcm: FcmServer;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startProviders(): Promise<Providers> {
  const credentials = localCredentials();
  const webpush = await startWebPushServer();
  const apns = await startApnsServer({ ...credentials.apns });
  const fcm = await startFcmServer({ ...credentials.fcm });
  return {
    webpush,
    apns,
    fcm,
    env: {
      MSGXC_DELIVERY_SANDBOX: 'off',
      MSGXC_WEBPUSH_VAPID_PUBLIC_KEY: credentials.vapid.publicKey,
      MSGXC_WEBPUSH_VAPID_PRIVATE_KEY: credentials.vapid.privateKey,
      MSGXC_WEBPUSH_VAPID_SUBJECT: credentials.vapid.subject,
      MSGXC_WEBPUSH_CA_FILE: certificateFile,
      MSGXC_WEBPUSH_ALLOWED_HOSTS: `127.0.0.1:${webpush.port}`,
      MSGXC_APNS_KEY_FILE: credentials.apns.keyFile,
      MSGXC_APNS_KEY_ID: credentials.apns.keyId,
      MSGXC_APNS_TEAM_ID: credentials.apns.teamId,
      MSGXC_APNS_TOPIC: credentials.apns.topic,
      MSGXC_APNS_PRODUCTION: 'false',
      MSGXC_APNS_ADDRESS: `127.0.0.1:${apns.port}`,
      MSGXC_APNS_CA_FILE: certificateFile,
      MSGXC_FCM_CREDENTIALS_FILE: credentials.fcm.credentialsFile,
      MSGXC_FCM_ENDPOINT: fcm.url,
      MSGXC_FCM_TOKEN_URL: fcm.tokenUrl,
      MSGXC_FCM_CA_FILE: certificateFile,
    },
    close: async () => {
      await Promise.all([webpush.close(), apns.close(), fcm.close()]);
    },
  };
}

export const deliveryStages = ['deliver.webpush', 'deliver.apns', 'deliver.fcm'];

/** The delivery stages as a process of their own, so a test can SIGKILL just them. */
export async function startDelivery(system: System, generation: number): Promise<MsgxcProcess> {
  const child = spawnMsgxc(
    `deliver-${generation}`,
    ['run', ...deliveryStages],
    { ...system.env, MSGXC_METRICS_PORT: String(await freePort()), MSGXC_KAFKA_CLIENT_ID: `deliver-${generation}` },
    system.logDir,
  );
  await child.waitForLog(/"msg":"stages running"/, 180_000);
  return child;
}

export interface PushUser {
  uid: string;
  token: string;
  webpushEndpoint: string;
  apnsToken: string;
  fcmToken: string;
}

/** A user with one device on each push channel, enlisted through the facade and indexed. */
export async function pushUser(system: System, api: Api, providers: Providers, uid: string): Promise<PushUser> {
  const token = await tokenFor(uid);
  const subscription = providers.webpush.subscribe();
  const apnsToken = Buffer.from(uid.padEnd(32, '0')).toString('hex').slice(0, 64);
  const fcmToken = `fcm-token-${uid}-0123456789`;
  await api.ok('POST', '/api/v1/enlist', token, subscription);
  await api.ok('POST', '/api/v1/enlist', token, { os: 'ios', token: apnsToken });
  await api.ok('POST', '/api/v1/enlist', token, { os: 'android', token: fcmToken });
  await indexed(
    system,
    uid,
    (doc) => doc.devices.webpush.length + doc.devices.apns.length + doc.devices.fcm.length === 3,
  );
  return { uid, token, webpushEndpoint: subscription.endpoint, apnsToken, fcmToken };
}

export const subscriptionId = (endpoint: string) => endpoint.split('/').pop()!;
