import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import twilio from 'twilio';
import { mapLimit } from '../pipeline/concurrency/index.ts';
import type { Config } from '../pipeline/config/index.ts';
import { Secret } from '../pipeline/config/messaging.ts';
import type { ProviderAdapter } from '../pipeline/delivery/contract.ts';
import { statusCallbackUrl } from '../pipeline/feedback/index.ts';
import { buildDeliveryBatch, type DeliveryBatch } from '../schemas/types.generated.ts';
import { startSesFake } from '../stack/providers/ses.ts';
import { startTwilioFake } from '../stack/providers/twilio.ts';
import { createSesAdapter } from '../stages/deliver-email/ses.ts';
import { createTwilioAdapter, RoutedRequestClient } from '../stages/deliver-sms/twilio.ts';
import { throughDeliveryStage } from './harness/delivery.ts';

/**
 * `npm run bench -- channels-messaging [count=2000] [runs=3]`: SMS (Twilio) and e-mail (SES v2) messages/s
 * through the stage's handler core (shared policy + adapter + templating + outcome events) vs a raw loop of
 * the same SDK call to the same local server, with the same number of requests in flight. The local servers
 * run in this process, so they take their share of the same CPU in every figure. `messagingChannels` is the
 * same measurement for `bench/channels.ts` to include.
 */

const inFlight = 200;
const batchSize = 50;
const publicUrl = 'https://msgxc.bench';

export async function run(config: Config, args: string[]): Promise<number> {
  const options = Object.fromEntries(args.map((arg) => arg.split('=') as [string, string]));
  const results = await messagingChannels(config, {
    count: Number(options.count ?? 2_000),
    runs: Number(options.runs ?? 3),
  });
  console.info(`\nchannels-messaging bench: ${options.count ?? 2_000} messages per figure (min / median / max)`);
  for (const [name, values] of Object.entries(results)) {
    const sorted = [...values].sort((a, b) => a - b);
    const format = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(2));
    console.info(
      `${name.padEnd(32)} ${format(sorted[0]!)} / ${format(sorted[Math.floor(sorted.length / 2)]!)} / ${format(sorted.at(-1)!)}`,
    );
  }
  return 0;
}

export async function messagingChannels(config: Config, options: { count: number; runs: number }) {
  const twilioServer = await startTwilioFake();
  const sesServer = await startSesFake({ maxSendRate: 1_000_000 });
  const results: Record<string, number[]> = {};
  const record = (name: string, value: number) => {
    results[name] ??= [];
    results[name].push(value);
  };
  const twilioSettings = {
    accountSid: twilioServer.accountSid,
    authToken: new Secret(twilioServer.authToken),
    messagingServiceSid: 'MG00000000000000000000000000000001',
    from: null,
    apiUrl: twilioServer.url,
    segmentsPerSecond: 1_000_000,
  };
  const sesSettings = {
    region: 'us-east-1',
    accessKeyId: sesServer.credentials.accessKeyId,
    secretAccessKey: new Secret(sesServer.credentials.secretAccessKey),
    endpoint: sesServer.url,
    perSecond: 1_000_000,
  };
  try {
    // Round 0 warms up (JIT, keep-alive sockets) and is not reported.
    for (let round = 0; round <= options.runs; round += 1) {
      const note = round === 0 ? () => undefined : record;
      const count = round === 0 ? Math.min(options.count, 300) : options.count;

      const sms = createTwilioAdapter(twilioSettings, publicUrl);
      const smsStage = await throughStage(config, sms, 'sms', count);
      await sms.close();
      const smsRaw = await rawTwilioLoop(twilioSettings, count);
      note('sms stage msg/s', smsStage);
      note('sms raw twilio SDK msg/s', smsRaw);
      note('sms stage/raw', smsStage / smsRaw);

      const email = createSesAdapter(sesSettings, {
        publicUrl,
        unsubscribeSecret: 'bench-unsubscribe-secret-0123456789abcdef',
        from: 'bench <bench@msgxc.test>',
        configurationSet: 'bench',
      });
      const emailStage = await throughStage(config, email, 'email', count);
      await email.close();
      const emailRaw = await rawSesLoop(sesSettings, count);
      note('email stage msg/s', emailStage);
      note('email raw SES v2 SDK msg/s', emailRaw);
      note('email stage/raw', emailStage / emailRaw);
      const refused = twilioServer.refused.length + sesServer.refused.length;
      if (refused > 0) console.warn(`the local servers refused ${refused} requests`);
      console.info(round === 0 ? 'warm-up done' : `run ${round}/${options.runs} done`);
    }
  } finally {
    await Promise.all([twilioServer.close(), sesServer.close()]);
  }
  return results;
}

/** Messages per second through the delivery handler core: records of 50 recipients, 4 records at once. */
function throughStage(config: Config, adapter: ProviderAdapter, channel: 'sms' | 'email', count: number) {
  const batches = Array.from({ length: Math.ceil(count / batchSize) }, (_, index) =>
    batchOf(channel, index, Math.min(batchSize, count - index * batchSize)),
  );
  return throughDeliveryStage(config, adapter, channel, batches, inFlight / batchSize);
}

function batchOf(channel: 'sms' | 'email', index: number, size: number): DeliveryBatch {
  const messageId = randomUUID();
  return buildDeliveryBatch({
    batchId: `${messageId}:${index}`,
    channel,
    messageId,
    tid: 'bench-thread',
    urgency: 3,
    subject: 'Hello',
    msg: 'Your code is 123456',
    recipients: Array.from({ length: size }, (_, offset) => {
      const n = index * batchSize + offset;
      const address = channel === 'sms' ? `+1415${String(5_000_000 + n).padStart(7, '0')}` : `u${n}@bench.test`;
      const device = { channel, id: `d${n}`, token: null, subscription: null, address, platform: null };
      return { deliveryId: `${messageId}:u${n}:d${n}`, uid: `u${n}`, device, variant: null, locale: null };
    }),
    sender: { kind: 'service', id: 'bench' },
    createdAt: Date.now(),
    batchedAt: Date.now(),
  });
}

/** The twilio SDK's messages.create in a loop, `inFlight` at once, with the same fields the adapter sends. */
async function rawTwilioLoop(settings: { accountSid: string; authToken: Secret; apiUrl: string }, count: number) {
  const httpClient = new RoutedRequestClient(settings.apiUrl);
  const client = twilio(settings.accountSid, settings.authToken.reveal(), { httpClient, autoRetry: false });
  const started = performance.now();
  await mapLimit(
    Array.from({ length: count }, (_, n) => n),
    inFlight,
    (n) =>
      client.messages.create({
        messagingServiceSid: 'MG00000000000000000000000000000001',
        to: `+1415${String(6_000_000 + n).padStart(7, '0')}`,
        body: 'Hello\nYour code is 123456',
        statusCallback: statusCallbackUrl(publicUrl, {
          deliveryId: `raw:${n}`,
          messageId: 'raw',
          uid: `u${n}`,
          deviceId: `d${n}`,
        }),
      }),
  );
  const perSecond = count / ((performance.now() - started) / 1000);
  httpClient.destroy();
  return perSecond;
}

/** SESv2Client.send(SendEmailCommand) in a loop with a fixed simple message, `inFlight` at once. */
async function rawSesLoop(
  settings: { region: string; accessKeyId: string; secretAccessKey: Secret; endpoint: string },
  count: number,
) {
  const client = new SESv2Client({
    region: settings.region,
    endpoint: settings.endpoint,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey.reveal() },
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
  });
  const started = performance.now();
  await mapLimit(
    Array.from({ length: count }, (_, n) => n),
    inFlight,
    (n) =>
      client.send(
        new SendEmailCommand({
          FromEmailAddress: 'bench <bench@msgxc.test>',
          Destination: { ToAddresses: [`raw${n}@bench.test`] },
          Content: {
            Simple: {
              Subject: { Data: 'Hello' },
              Body: { Text: { Data: 'Your code is 123456' }, Html: { Data: '<p>Your code is 123456</p>' } },
            },
          },
          ConfigurationSetName: 'bench',
        }),
      ),
  );
  const perSecond = count / ((performance.now() - started) / 1000);
  client.destroy();
  return perSecond;
}
