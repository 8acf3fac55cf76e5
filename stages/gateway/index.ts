import { randomUUID } from 'node:crypto';
import { createVerifier } from '../../pipeline/auth/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { createRecordProducer } from '../../pipeline/kafka/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { registry as processRegistry } from '../../pipeline/metrics/index.ts';
import { defineStage, type OutputRecord } from '../../pipeline/runtime/index.ts';
import { createInboxStore, createThreadStore } from '../../pipeline/store/index.ts';
import { deliveryTopics } from '../../pipeline/topics/lanes.ts';
import type { DeliveryBatch } from '../../schemas/types.generated.ts';
import { type Gateway, type GatewayDependencies, startGateway } from './gateway.ts';
import { createThreadReadPermission } from './permissions.ts';
import { type ConsumingProbe, createConsumingProbe } from './readiness.ts';

export type { Gateway, GatewayDependencies, GatewayPrincipal, GatewaySettings } from './gateway.ts';
export { startGateway } from './gateway.ts';
export { PROTOCOL } from './protocol.ts';

/**
 * The WebSocket gateway as a stage: it consumes `deliver.ws.urgent` and `deliver.ws` in a consumer group of its own per process
 * (every instance sees every batch and writes to the sockets it holds), so more instances carry more
 * connections. `sent` events leave through the runtime's outputs; acks, read markers and check-ins come
 * from sockets at any time, so they go through a producer of the gateway's own. A client reconnecting
 * with `?resume=<last message id>` is replayed from the Cassandra inbox first (resume.ts).
 */

export interface GatewayStageOptions {
  /** Overrides `config.ws.port` (0 = ephemeral, for tests running several instances in one process). */
  port?: number;
  /** Thread read permission; the Cassandra thread store (createThreadReadPermission) when absent. */
  canRead?: GatewayDependencies['canRead'];
  /** Called with the running gateway once it listens (tests use it to learn the port). */
  onListening?: (gateway: Gateway) => void;
}

interface GatewayStageDeps {
  gateway: Gateway;
  probe: ConsumingProbe;
  close: () => Promise<void>;
}

export function createGatewayStage(options: GatewayStageOptions = {}) {
  return defineStage<DeliveryBatch, GatewayStageDeps>({
    name: 'gateway',
    input: deliveryTopics('ws'),
    output: ['events'],
    consumerGroup: 'per-instance',
    setup: (config, log) => setupGateway(config, log, options),
    async handler(batch, { deps }) {
      const outputs: OutputRecord[] = [];
      for (const record of batch) {
        if (deps.probe.observe(record.value)) continue;
        for (const event of deps.gateway.deliver(record.value).events) {
          outputs.push({ topic: 'events', key: event.messageId, value: event });
        }
      }
      return outputs;
    },
  });
}

async function setupGateway(config: Config, log: Logger, options: GatewayStageOptions): Promise<GatewayStageDeps> {
  const verifier = createVerifier(config);
  // Thread permissions and the inbox a resuming client is replayed from.
  const cassandra = createCassandra(config);
  const canRead = options.canRead ?? createThreadReadPermission(createThreadStore(cassandra));
  // Acks and check-ins from many sockets gather for a few milliseconds and leave in one request; each
  // socket's promise settles when its batch is acknowledged or fails.
  const producer = createRecordProducer(config, { log, batching: { lingerMs: 10, maxRecords: 500 } });
  const gatewayId = randomUUID();
  const probe = createConsumingProbe(
    gatewayId,
    (batch) => producer.send([{ topic: 'deliver.ws', key: batch.batchId, value: batch }]),
    log,
  );
  let gateway: Gateway;
  try {
    await Promise.all([producer.connect(), cassandra.connect()]);
    probe.start();
    gateway = await startGateway({
      gatewayId,
      consuming: probe.consuming,
      settings: { ...config.ws, port: options.port ?? config.ws.port },
      log,
      metricsRegistry: processRegistry,
      authenticate: (token) => verifier.verify(token),
      canRead,
      inbox: createInboxStore(cassandra),
      emit: (records) => producer.send(records),
    });
  } catch (error) {
    probe.stop();
    await Promise.allSettled([producer.close(), cassandra.shutdown()]);
    throw error;
  }
  options.onListening?.(gateway);
  return {
    gateway,
    probe,
    async close() {
      probe.stop();
      // Closing sockets produces their disconnect check-ins; send those before the producer goes.
      await gateway.close();
      await Promise.allSettled([producer.close(), cassandra.shutdown()]);
    },
  };
}

/** The stage `msgxc run gateway` runs (stages/index.ts). */
export const stage = createGatewayStage();
