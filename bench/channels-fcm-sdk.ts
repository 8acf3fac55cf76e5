import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { certificateFile } from '../stack/providers/common.ts';

/**
 * firebase-admin's `sendEach` against the local FCM server. Its HTTP/2 transport connects to
 * fcm.googleapis.com with no way to change the address, so the bench uses its legacy HTTP/1.1 transport whose
 * `httpAgent` option lets every connection go to the local server (TLS with the sandbox CA); the access token
 * comes from the local token endpoint through a Credential object.
 */
export async function firebaseSendEach(options: {
  port: number;
  tokenUrl: string;
  assertionToken: () => Promise<string>;
  projectId: string;
  count: number;
  batch: number;
}): Promise<{ perSecond: number; failures: number }> {
  const ca = readFileSync(certificateFile);
  const agent = new Agent({ keepAlive: true, maxSockets: 100 });
  agent.createConnection = (() =>
    tlsConnect({
      host: '127.0.0.1',
      port: options.port,
      ca,
      servername: 'localhost',
      ALPNProtocols: ['http/1.1'],
    })) as never;
  const app = initializeApp(
    {
      projectId: options.projectId,
      httpAgent: agent,
      credential: {
        getAccessToken: async () => ({ access_token: await options.assertionToken(), expires_in: 3_600 }),
      },
    },
    `bench-${Date.now()}`,
  );
  const messaging = getMessaging(app);
  messaging.enableLegacyHttpTransport();
  let failures = 0;
  const started = performance.now();
  for (let start = 0; start < options.count; start += options.batch) {
    const messages = Array.from({ length: Math.min(options.batch, options.count - start) }, (_, index) => ({
      token: `bench-token-${start + index}`,
      notification: { title: 'Hello', body: 'World' },
      android: { priority: 'high' as const, ttl: 600_000, collapseKey: 'bench' },
    }));
    const result = await messaging.sendEach(messages);
    failures += result.failureCount;
  }
  const seconds = (performance.now() - started) / 1000;
  await deleteApp(app);
  agent.destroy();
  return { perSecond: options.count / seconds, failures };
}
