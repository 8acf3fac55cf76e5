import { Registry } from 'prom-client';
import { createDeviceSecrets } from '../../pipeline/audience-index/device-secrets.ts';
import { mapLimit } from '../../pipeline/concurrency/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import type { ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { type DeliveryContext, deliverRecord } from '../../pipeline/delivery/deliver.ts';
import { createRoute } from '../../pipeline/delivery/failover.ts';
import { deliveryMetrics } from '../../pipeline/delivery/metrics.ts';
import { ProviderPolicy } from '../../pipeline/delivery/provider-policy.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import type { DeviceChannel } from '../../pipeline/store/user-types.ts';
import type { DeliveryBatch } from '../../schemas/types.generated.ts';

/**
 * Recipients per second through a delivery stage's handler core (the shared provider policy around `adapter`,
 * no Kafka): `batches` as records, `concurrency` at once. Warns when not every recipient was sent.
 */
export async function throughDeliveryStage(
  config: Config,
  adapter: ProviderAdapter,
  channel: DeviceChannel,
  batches: DeliveryBatch[],
  concurrency: number,
): Promise<number> {
  const context = benchDeliveryContext(config, adapter, channel, 30_000);
  // Sealed, as fanout hands devices on: the stage's opening of each one is part of what is timed.
  const sealed = batches.map((batch) => ({
    ...batch,
    recipients: batch.recipients.map((recipient) =>
      recipient.device ? { ...recipient, device: context.secrets.seal(recipient.uid, recipient.device) } : recipient,
    ),
  }));
  const records = sealed.map((value, index) => deliveryRecord(channel, index, value));
  const count = batches.reduce((sum, batch) => sum + batch.recipients.length, 0);
  let sent = 0;
  const started = performance.now();
  await mapLimit(records, concurrency, async (record) => {
    const outputs = await deliverRecord(record, context, new AbortController().signal);
    sent += outputs.filter((output) => (output.value as { type?: string }).type === 'sent').length;
  });
  const seconds = (performance.now() - started) / 1000;
  if (sent !== count) console.warn(`${channel}: ${sent} of ${count} sent`);
  return count / seconds;
}

/**
 * A delivery stage's handler context around one adapter, as a bench drives it: the shared provider policy
 * with no rate limit to speak of, no pruning, and retries parked nowhere (a bench counts what was sent).
 */
export function benchDeliveryContext(
  config: Config,
  adapter: ProviderAdapter,
  channel: DeviceChannel,
  timeoutMs: number,
): DeliveryContext {
  const metrics = deliveryMetrics(new Registry());
  const route = createRoute([
    new ProviderPolicy(
      adapter,
      { perSecond: 1_000_000, breakerFailures: 5, breakerCooldownMs: 5_000, timeoutMs },
      metrics,
    ),
  ]);
  return {
    stage: `deliver.${channel}`,
    channel,
    route,
    disabledReason: '',
    policy: config.delivery.policy,
    pruner: { prune: async () => null },
    retry: { park: async (records) => void records, close: async () => undefined },
    metrics,
    log: createLogger(config, 'bench'),
    secrets: createDeviceSecrets(config.devices.keys),
  };
}

/** A delivery batch as the stage's consumer hands it over: the record at `offset` of `deliver.<channel>`. */
export function deliveryRecord(channel: DeviceChannel, offset: number, value: DeliveryBatch) {
  return {
    topic: `deliver.${channel}`,
    partition: 0,
    offset: String(offset),
    key: null,
    value,
    headers: {},
    timestamp: Date.now(),
  };
}
