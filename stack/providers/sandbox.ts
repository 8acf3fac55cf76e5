import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../pipeline/config/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { type ApnsServer, startApnsServer } from './apns.ts';
import { certificateFile, type ProviderServer } from './common.ts';
import { localCredentials } from './credentials.ts';
import { type FcmServer, startFcmServer } from './fcm.ts';
import { startWebPushServer, type WebPushServer } from './webpush.ts';

/**
 * The provider sandbox of `npm start`: every push channel without credentials is pointed at a local server
 * that speaks its provider's protocol (stack/providers), with throw-away credentials, so a newcomer sees a
 * Web Push, an APNs and an FCM notification arrive. A channel with credentials goes to its real provider.
 * `http://127.0.0.1:<MSGXC_SANDBOX_PORT>/` lists what each server received (Web Push decrypted);
 * `POST /webpush/subscriptions` makes a subscription to enlist through the facade (`POST /api/v1/devices`).
 */
export interface Sandbox {
  /** The configuration with the sandboxed channels pointed at the local servers. */
  config: Config;
  channels: string[];
  url: string | null;
  servers: { webpush?: WebPushServer; apns?: ApnsServer; fcm?: FcmServer };
  close(): Promise<void>;
}

export async function startSandbox(config: Config, log: Logger): Promise<Sandbox> {
  const delivery = config.delivery;
  const wanted = {
    webpush: delivery.webpush.vapid === null,
    apns: delivery.apns.token === null,
    fcm: delivery.fcm.credentialsFile === null,
  };
  if (delivery.sandbox === 'off' || !Object.values(wanted).some(Boolean)) {
    return { config, channels: [], url: null, servers: {}, close: async () => undefined };
  }
  const credentials = localCredentials();
  const servers: Sandbox['servers'] = {};
  let next: Config = { ...config, delivery: { ...delivery }, http: { ...config.http } };
  if (wanted.webpush) {
    const server = await startWebPushServer();
    servers.webpush = server;
    next.delivery.webpush = { ...delivery.webpush, vapid: credentials.vapid, caFile: certificateFile };
    next.http.webPushAllowedHosts = [...config.http.webPushAllowedHosts, `127.0.0.1:${server.port}`];
  }
  if (wanted.apns) {
    const server = await startApnsServer({ ...credentials.apns });
    servers.apns = server;
    next.delivery.apns = {
      ...delivery.apns,
      token: { keyFile: credentials.apns.keyFile, keyId: credentials.apns.keyId, teamId: credentials.apns.teamId },
      topic: credentials.apns.topic,
      production: false,
      address: { host: '127.0.0.1', port: server.port },
      caFile: certificateFile,
    };
  }
  if (wanted.fcm) {
    const server = await startFcmServer({ ...credentials.fcm });
    servers.fcm = server;
    next.delivery.fcm = {
      ...delivery.fcm,
      credentialsFile: credentials.fcm.credentialsFile,
      projectId: credentials.fcm.projectId,
      endpoint: server.url,
      tokenUrl: server.tokenUrl,
      caFile: certificateFile,
    };
  }
  next = Object.freeze(next);
  const page = await servePage(servers, config.http.host, delivery.sandboxPort);
  const url = `http://${config.http.host}:${(page.address() as AddressInfo).port}/`;
  const channels = Object.keys(servers);
  log.info(
    { channels, page: url },
    `provider sandbox: ${channels.join(', ')} go to local provider servers (no credentials)`,
  );
  return {
    config: next,
    channels,
    url,
    servers,
    async close() {
      page.closeAllConnections();
      await new Promise<void>((resolve) => page.close(() => resolve()));
      await Promise.all(Object.values(servers).map((server: ProviderServer) => server.close()));
    },
  };
}

function servePage(servers: Sandbox['servers'], host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body, null, 2));
    };
    if (request.method === 'POST' && request.url === '/webpush/subscriptions' && servers.webpush) {
      return json(201, servers.webpush.subscribe());
    }
    const received = Object.entries(servers).flatMap(([, provider]) => (provider as ProviderServer).received);
    if (request.url === '/received') return json(200, received);
    if (request.url === '/' || request.url === '/index.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      const rows = received
        .slice(-200)
        .reverse()
        .map(
          (item) =>
            `<tr><td>${new Date(item.at).toISOString()}</td><td>${item.provider}</td><td>${escapeHtml(item.target)}</td><td>${item.status}</td><td><pre>${escapeHtml(JSON.stringify(item.payload, null, 1))}</pre></td></tr>`,
        )
        .join('');
      return response.end(
        `<!doctype html><title>msgxc provider sandbox</title><h1>What the local providers received</h1><p>JSON: <a href="/received">/received</a> · new Web Push subscription: <code>POST /webpush/subscriptions</code></p><table border="1" cellpadding="4"><tr><th>at</th><th>provider</th><th>device</th><th>status</th><th>payload (decrypted)</th></tr>${rows}</table>`,
      );
    }
    json(404, { error: 'not found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (character) => `&#${character.charCodeAt(0)};`);
}
