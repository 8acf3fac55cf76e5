import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceSecrets } from '../../pipeline/audience-index/device-secrets.ts';
import { buildAudienceChange, type DeliveryBatch, type Device } from '../../schemas/types.generated.ts';
import { stage as fanoutStage } from '../../stages/fanout/index.ts';
import { audience, createWorld, device, fanoutJob, readTopic, type World } from './support.ts';

/**
 * Device secrets in the audience index (pipeline/audience-index/device-secrets.ts): the documents in
 * OpenSearch, read raw, hold no APNs/FCM token and no Web Push key in clear; fanout's delivery records
 * carry them sealed too, and the delivery stage's secrets open each device as it was enlisted.
 */

let world: World;
const webpush = (id: string): Device => ({
  channel: 'webpush',
  id,
  token: null,
  subscription: {
    endpoint: `https://push.example/send/${id}`,
    expirationTime: null,
    p256dh: `BCxP256dhPublicKeyOf-${id}`,
    auth: `authSecretOf-${id}`,
  },
  address: null,
  platform: 'firefox',
});
const ann = { apns: [device.apns('ann-phone')], fcm: [device.fcm('ann-tablet')], webpush: [webpush('ann-browser')] };
const secretsOf = (devices: Device[]) =>
  devices.flatMap((item) => [item.token, item.subscription?.p256dh, item.subscription?.auth]).filter(Boolean);

beforeAll(async () => {
  // A migrated keyspace: fanout writes every recipient's inbox row before it emits the batches.
  world = await createWorld({ MSGXC_DEVICE_KEYS: `test-key:${randomBytes(32).toString('base64')}` });
  // One user from a snapshot (reindex, upsert), one from a change (the audience stage).
  await world.users([{ uid: 'ann', devices: ann }]);
  await world.index.applyChange(
    buildAudienceChange({
      changeId: 'c-1',
      uid: 'bob',
      type: 'enlist_device',
      at: Date.now(),
      device: device.fcm('bob-phone'),
    }),
  );
  await world.index.refresh();
});

afterAll(async () => {
  await world?.drop();
});

describe('device secrets in the audience index', () => {
  it('stores no device token or Web Push key in clear in the search engine', async () => {
    const response = await fetch(`${world.config.search.url}/${world.index.alias}/_search?size=100`);
    const raw = await response.text();
    expect(response.status).toBe(200);
    expect(raw).toContain('"uid":"ann"');
    expect(raw).toContain('"uid":"bob"');
    for (const secret of secretsOf([...ann.apns, ...ann.fcm, ...ann.webpush, device.fcm('bob-phone')])) {
      expect(raw).not.toContain(secret!);
    }
    expect(raw).toContain('enc1.test-key.');
    // What is not a secret stays readable: the endpoint, the device ids.
    expect(raw).toContain('https://push.example/send/ann-browser');
  });

  it('fanout emits the devices sealed: no secret in clear on Kafka, and they open as enlisted', async () => {
    await world.run([fanoutStage]);
    const job = fanoutJob({ audience: audience.uids(['ann', 'bob']), channels: ['apns', 'fcm', 'webpush'] });
    await world.emitter.emit([{ topic: 'fanout', key: job.messageId, value: job }]);
    await world.drained('fanout', ['fanout']);
    const batches = (
      await Promise.all(
        ['deliver.apns', 'deliver.fcm', 'deliver.webpush'].map((topic) =>
          readTopic<DeliveryBatch>(world.config, topic),
        ),
      )
    )
      .flat()
      .map((record) => record.value)
      .filter((batch) => batch.messageId === job.messageId);
    const recipients = batches.flatMap((batch) => batch.recipients);
    const onKafka = JSON.stringify(recipients);
    for (const secret of secretsOf([...ann.apns, ...ann.fcm, ...ann.webpush, device.fcm('bob-phone')])) {
      expect(onKafka).not.toContain(secret!);
    }
    const secrets = createDeviceSecrets(world.config.devices.keys);
    const devices = recipients
      .map((recipient) => secrets.open(recipient.uid, recipient.device!))
      .sort((a, b) => (a?.id ?? '').localeCompare(b?.id ?? ''));
    expect(devices).toEqual([ann.webpush[0], ann.apns[0], ann.fcm[0], device.fcm('bob-phone')]);
  });
});
