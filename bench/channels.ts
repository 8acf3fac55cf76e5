import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import { mapLimit } from '../pipeline/concurrency/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import type { ProviderAdapter } from '../pipeline/delivery/contract.ts';
import { deliverRecord } from '../pipeline/delivery/deliver.ts';
import { buildDeliveryBatch, type DeliveryBatch, type Device } from '../schemas/types.generated.ts';
import { startApnsServer } from '../stack/providers/apns.ts';
import { certificateFile } from '../stack/providers/common.ts';
import { localCredentials } from '../stack/providers/credentials.ts';
import { startFcmServer } from '../stack/providers/fcm.ts';
import { createApnsAdapter } from '../stages/deliver-apns/adapter.ts';
import { apnsIdOf } from '../stages/deliver-apns/notification.ts';
import { createFcmAdapter } from '../stages/deliver-fcm/sender.ts';
import { firebaseSendEach } from './channels-fcm-sdk.ts';
import { rawHttp2Loop } from './channels-raw.ts';
import { webPushCpu } from './channels-webpush.ts';
import { benchDeliveryContext, deliveryRecord, throughDeliveryStage } from './harness/delivery.ts';

/**
 * `npm run bench -- channels [count=5000] [runs=3]`: the push channels against the local provider servers
 * (stack/providers), each beside its raw baseline measured in the same run, `runs` times:
 *  - Web Push CPU per message (request building: encryption + headers) vs the crypto floor, and the library
 *    with its defaults (a VAPID signature per message);
 *  - APNs and FCM messages/s through the stage's handler (shared policy + adapter + outcome events) vs a raw
 *    node:http2 loop to the same server; FCM also through firebase-admin's sendEach.
 * The servers run in this process too, so they take their share of the same CPU in every figure.
 */
export async function run(config: Config, args: string[]): Promise<number> {
  const options = Object.fromEntries(args.map((arg) => arg.split('=') as [string, string]));
  const count = Number(options.count ?? 5_000);
  const runs = Number(options.runs ?? 3);
  const credentials = localCredentials();
  const apnsServer = await startApnsServer({ ...credentials.apns });
  const fcmServer = await startFcmServer({ ...credentials.fcm });
  const results: Record<string, number[]> = {};
  const record = (name: string, value: number) => {
    results[name] ??= [];
    results[name].push(value);
  };
  try {
    // Round 0 warms up (JIT, TLS sessions, tokens) and is not reported.
    for (let round = 0; round <= runs; round += 1) {
      const note = round === 0 ? () => undefined : record;
      const cpu = webPushCpu(round === 0 ? 200 : Math.min(count, 3_000));
      note('webpush stage µs/msg', cpu.stage);
      note('webpush floor µs/msg', cpu.floor);
      note('webpush library-defaults µs/msg', cpu.library);
      note('webpush stage/floor', cpu.stage / cpu.floor);

      const apns = createApnsAdapter({
        ...credentials.apns,
        production: false,
        address: { host: '127.0.0.1', port: apnsServer.port },
        caFile: certificateFile,
        requestTimeoutMs: 10_000,
      });
      const size = round === 0 ? Math.min(count, 500) : count;
      const apnsStage = await throughStage(config, apns, 'apns', size, 100);
      await apns.close();
      const jwt = await apnsJwt(credentials.apns);
      const apnsRaw = await rawHttp2Loop({
        url: apnsServer.url,
        count: size,
        concurrency: 200,
        request: (index) => ({
          headers: {
            ':path': `/3/device/${(index + 1).toString(16).padStart(8, '0')}`,
            authorization: `bearer ${jwt}`,
            'apns-topic': credentials.apns.topic,
            'apns-push-type': 'alert',
            'apns-priority': '10',
            'apns-id': apnsIdOf(`raw-${index}`),
          },
          body: JSON.stringify({ aps: { alert: { title: 'Hello', body: 'World' } }, messageId: 'raw' }),
        }),
      });
      note('apns stage msg/s', apnsStage);
      note('apns raw http2 msg/s', apnsRaw.perSecond);
      note('apns stage/raw', apnsStage / apnsRaw.perSecond);

      const fcm = createFcmAdapter({
        credentialsFile: credentials.fcm.credentialsFile,
        endpoint: fcmServer.url,
        tokenUrl: fcmServer.tokenUrl,
        caFile: certificateFile,
      });
      const fcmStage = await throughStage(config, fcm, 'fcm', size, 500);
      await fcm.close();
      const accessToken = await fetchAccessToken(fcmServer.tokenUrl, credentials.fcm);
      const fcmRaw = await rawHttp2Loop({
        url: fcmServer.url,
        count: size,
        concurrency: 100,
        request: (index) => ({
          headers: {
            ':path': `/v1/projects/${credentials.fcm.projectId}/messages:send`,
            authorization: `Bearer ${accessToken}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            message: {
              token: `raw-${index}`,
              notification: { title: 'Hello', body: 'World' },
              android: { priority: 'HIGH', ttl: '600s' },
            },
          }),
        }),
      });
      const sdk = await firebaseSendEach({
        port: fcmServer.port,
        tokenUrl: fcmServer.tokenUrl,
        assertionToken: () => fetchAccessToken(fcmServer.tokenUrl, credentials.fcm),
        projectId: credentials.fcm.projectId,
        count: Math.min(size, 2_000),
        batch: 500,
      });
      note('fcm stage msg/s', fcmStage);
      note('fcm raw http2 msg/s', fcmRaw.perSecond);
      note('fcm firebase-admin sendEach msg/s', sdk.perSecond);
      note('fcm stage/raw', fcmStage / fcmRaw.perSecond);
      note('fcm sdk/raw', sdk.perSecond / fcmRaw.perSecond);
      if (apnsRaw.failures + fcmRaw.failures + sdk.failures > 0) {
        console.warn(`failures: apns raw ${apnsRaw.failures}, fcm raw ${fcmRaw.failures}, sdk ${sdk.failures}`);
      }
      console.info(round === 0 ? 'warm-up done' : `run ${round}/${runs} done`);
    }
  } finally {
    await Promise.all([apnsServer.close(), fcmServer.close()]);
  }
  if (Number(options.broadcast ?? 0) > 0) await broadcastMemory(config, Number(options.broadcast), credentials);
  console.info(`\nchannels bench: ${count} messages per figure, ${runs} runs (min / median / max)`);
  for (const [name, values] of Object.entries(results)) {
    const sorted = [...values].sort((a, b) => a - b);
    const format = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(2));
    console.info(
      `${name.padEnd(36)} ${format(sorted[0]!)} / ${format(sorted[Math.floor(sorted.length / 2)]!)} / ${format(sorted.at(-1)!)}`,
    );
  }
  return 0;
}

/**
 * `broadcast=N`: N APNs recipients through the stage's handler in records of 100 (as fanout cuts them), 8
 * records at once, to a fresh local server that keeps nothing: peak RSS over the process's RSS before.
 */
async function broadcastMemory(config: Config, recipients: number, credentials: ReturnType<typeof localCredentials>) {
  const server = await startApnsServer({ ...credentials.apns });
  const adapter = createApnsAdapter({
    ...credentials.apns,
    production: false,
    address: { host: '127.0.0.1', port: server.port },
    caFile: certificateFile,
    requestTimeoutMs: 30_000,
  });
  const context = benchDeliveryContext(config, adapter, 'apns', 60_000);
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    // The server would grow with what it keeps; a broadcast's memory is the stage's.
    server.received.length = 0;
  }, 100);
  const started = performance.now();
  const records = Array.from({ length: Math.ceil(recipients / 100) }, (_, index) => index);
  await mapLimit(records, 8, async (index) => {
    const value = batchOf('apns', index, Math.min(100, recipients - index * 100));
    await deliverRecord(deliveryRecord('apns', index, value), context, new AbortController().signal);
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  await adapter.close();
  await server.close();
  const mib = (bytes: number) => (bytes / 1_048_576).toFixed(0);
  console.info(
    `broadcast: ${recipients} APNs recipients in ${seconds.toFixed(1)} s (${(recipients / seconds).toFixed(0)}/s), RSS ${mib(before)} MiB before, peak ${mib(peak)} MiB`,
  );
}

/** Messages per second through the stage's handler core: DeliveryBatch records of `batch` recipients, 8 at once. */
function throughStage(config: Config, adapter: ProviderAdapter, channel: 'apns' | 'fcm', count: number, batch: number) {
  const batches = Array.from({ length: Math.ceil(count / batch) }, (_, index) =>
    batchOf(channel, index, Math.min(batch, count - index * batch)),
  );
  return throughDeliveryStage(config, adapter, channel, batches, 8);
}

function batchOf(channel: 'apns' | 'fcm', index: number, size: number): DeliveryBatch {
  const messageId = randomUUID();
  return buildDeliveryBatch({
    batchId: `${messageId}:${index}`,
    channel,
    messageId,
    urgency: 3,
    subject: 'Hello',
    msg: 'World',
    recipients: Array.from({ length: size }, (_, offset) => {
      const token = (index * 1_000 + offset + 1).toString(16).padStart(8, '0');
      const device: Device = { channel, id: token, token, subscription: null, address: null, platform: null };
      return { deliveryId: `${messageId}:u${token}:${token}`, uid: `u${token}`, device, variant: null, locale: null };
    }),
    sender: { kind: 'service', id: 'bench' } as DeliveryBatch['sender'],
    createdAt: Date.now(),
    batchedAt: Date.now(),
  });
}

async function apnsJwt(apns: { keyFile: string; keyId: string; teamId: string }): Promise<string> {
  const key = await importPKCS8(readFileSync(apns.keyFile, 'utf8'), 'ES256');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: apns.keyId })
    .setIssuer(apns.teamId)
    .setIssuedAt()
    .sign(key);
}

async function fetchAccessToken(
  tokenUrl: string,
  fcm: { credentialsFile: string; clientEmail: string },
): Promise<string> {
  const account = JSON.parse(readFileSync(fcm.credentialsFile, 'utf8')) as { private_key: string };
  const key = await importPKCS8(account.private_key, 'RS256');
  const assertion = await new SignJWT({ scope: 'https://www.googleapis.com/auth/firebase.messaging' })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(fcm.clientEmail)
    .setAudience('https://oauth2.googleapis.com/token')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
  const response = await fetch(tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}
