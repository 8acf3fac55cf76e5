import type { Registry } from 'prom-client';
import type { DeliveryBatch, Recipient } from '../../schemas/types.generated.ts';
import { createDeviceSecrets } from '../audience-index/device-secrets.ts';
import { createCassandra } from '../cassandra/index.ts';
import { mapLimit } from '../concurrency/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { createDefaultCodec } from '../runtime/codec.ts';
import type { Codec, StageDefinition } from '../runtime/types.ts';
import type { DeviceChannel } from '../store/user-types.ts';
import { deliveryTopics } from '../topics/lanes.ts';
import type { Outcome, ProviderAdapter } from './contract.ts';
import { type DeliveryContext, deliverRecord } from './deliver.ts';
import { createRoute } from './failover.ts';
import { deliveryMetrics } from './metrics.ts';
import { ProviderPolicy } from './provider-policy.ts';
import { createPruner, type Pruner } from './pruning.ts';
import { createRetryQueue, type RetryQueue } from './retry-queue.ts';

/** One provider of a channel, with the quota its account starts from. */
export interface ProviderSpec {
  adapter: ProviderAdapter;
  /** Recipients per second the account may send (documented quota or configuration). */
  perSecond: number;
  burst?: number;
  /** How long a throttle waits when the provider names no time (FCM QUOTA_EXCEEDED: ≥ 60 s). */
  defaultThrottleMs?: number;
}

/** What a channel's setup returns: its providers in failover order (primary first), none when disabled. */
export interface ChannelSetup {
  providers: ProviderSpec[];
  /** Why the channel is disabled (logged once at start-up; the `detail` of its skipped events). */
  disabledReason?: string;
  /** A rejected outcome with `suppress`: remember the address must not be used (SMS STOP, hard bounce). */
  suppress?: (recipient: Recipient, outcome: Outcome) => Promise<void>;
  close?: () => Promise<void>;
}

export interface DeliveryStageOptions {
  channel: DeviceChannel;
  /** Builds the channel's adapters from the configuration. Must not log secrets. */
  setup: (config: Config, log: Logger) => Promise<ChannelSetup>;
  /** DeliveryBatch records of one chunk delivered at once (each is up to a provider batch of recipients). */
  concurrency?: number;
  /** For tests and benches: replaces pieces the setup would otherwise build. */
  overrides?: { codec?: Codec; retry?: RetryQueue; pruner?: Pruner; registry?: Registry };
}

export interface DeliveryStageDeps {
  context: DeliveryContext;
  close: () => Promise<void>;
}

/**
 * A delivery stage as a declaration: `deliver.<channel>.urgent` and `deliver.<channel>` in, outcome events and audience changes (pruned
 * devices) out. The shared provider policy (pipeline/delivery/README.md) wraps every adapter the setup returns.
 */
export function createDeliveryStage(options: DeliveryStageOptions): StageDefinition<DeliveryBatch, DeliveryStageDeps> {
  const name = `deliver.${options.channel}`;
  return {
    name,
    input: deliveryTopics(options.channel),
    output: ['events', 'audience'],
    async setup(config, log) {
      const channelSetup = await options.setup(config, log);
      const metrics = deliveryMetrics(options.overrides?.registry);
      // An in-handler wait stays well inside the consumer session (the runtime heartbeats during a chunk, but a
      // rebalance waits for the chunk): longer waits park the records in the retry topic instead.
      const sessionBound = Math.floor(config.runtime.consumer.sessionTimeoutMs / 2);
      const policy = { ...config.delivery.policy, maxWaitMs: Math.min(config.delivery.policy.maxWaitMs, sessionBound) };
      const route =
        channelSetup.providers.length === 0
          ? null
          : createRoute(
              channelSetup.providers.map(
                (spec) =>
                  new ProviderPolicy(
                    spec.adapter,
                    {
                      perSecond: spec.perSecond,
                      ...(spec.burst === undefined ? {} : { burst: spec.burst }),
                      ...(spec.defaultThrottleMs === undefined ? {} : { defaultThrottleMs: spec.defaultThrottleMs }),
                      breakerFailures: policy.breakerFailures,
                      breakerCooldownMs: policy.breakerCooldownMs,
                      timeoutMs: policy.timeoutMs,
                    },
                    metrics,
                  ),
              ),
            );
      const disabledReason = channelSetup.disabledReason ?? 'no provider configured';
      if (route === null) {
        log.warn(`${name} disabled: ${disabledReason}; its deliveries become skipped events`);
      } else {
        const providers = route.providers.map((provider) => provider.provider);
        log.info({ providers }, `${name} delivers through ${providers.join(' then ')}`);
      }
      const codec = options.overrides?.codec ?? (await createDefaultCodec(config));
      const retry = options.overrides?.retry ?? createRetryQueue(config, name, codec, log);
      const cassandra = options.overrides?.pruner ? null : createCassandra(config);
      const pruner = options.overrides?.pruner ?? createPruner(cassandra!, name);
      const context: DeliveryContext = {
        stage: name,
        channel: options.channel,
        route,
        disabledReason,
        policy,
        pruner,
        retry,
        metrics,
        log,
        secrets: createDeviceSecrets(config.devices.keys),
        ...(channelSetup.suppress ? { suppress: channelSetup.suppress } : {}),
      };
      return {
        context,
        async close() {
          await Promise.allSettled([
            ...channelSetup.providers.map((spec) => spec.adapter.close()),
            channelSetup.close?.(),
            retry.close(),
            cassandra?.shutdown(),
          ]);
        },
      };
    },
    async handler(batch, { deps, signal }) {
      const outputs = await mapLimit(batch, options.concurrency ?? 8, (record) =>
        deliverRecord(record, deps.context, signal),
      );
      return outputs.flat();
    },
    // A provider's answer never throws; what does (Cassandra, Kafka) is worth retrying, and the runtime's
    // delayed retries carry the whole record again (its sent recipients repeat, with the same delivery ids).
    errors: { classify: () => 'retriable' },
  };
}
