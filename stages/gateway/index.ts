import { randomUUID } from 'node:crypto';
import { createVerifier } from '../../pipeline/auth/index.ts';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { registry as processRegistry } from '../../pipeline/metrics/index.ts';
import { createDefaultCodec, defineStage, type OutputRecord } from '../../pipeline/runtime/index.ts';
import { createInboxStore, createThreadStore } from '../../pipeline/store/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import type { DeliveryBatch } from '../../schemas/types.generated.ts';
import { type Gateway, type GatewayDependencies, startGateway } from './gateway.ts';
import { createThreadReadPermission } from './permissions.ts';
import { type ConsumingProbe, createConsumingProbe } from './readiness.ts';
import { createKafkaSink, type RecordSink } from './sink.ts';

export type { Gateway, GatewayDependencies, GatewayPrincipal, GatewaySettings } from './gateway.ts';
export { startGateway } from './gateway.ts';
export { PROTOCOL } from './protocol.ts';

/**
 * The WebSocket gateway as a stage: it consumes `deliver.ws` in a consumer group of its own per process
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
    input: ['deliver.ws'],
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
  const codec = await createDefaultCodec(config);
  // Thread permissions and the inbox a resuming client is replayed from.
  const cassandra = createCassandra(config);
  const canRead = options.canRead ?? createThreadReadPermission(createThreadStore(cassandra));
  const producer = createKafka(config, log.child({ component: 'kafkajs' })).producer(producerConfig);
  const gatewayId = randomUUID();
  const probe = createConsumingProbe(
    gatewayId,
    async (batch) => {
      const value = await codec.encode('deliver.ws', batch);
      await producer.send({
        topic: topicName(config, 'deliver.ws'),
        acks: -1,
        messages: [{ key: batch.batchId, value }],
      });
    },
    log,
  );
  let gateway: Gateway;
  let sink: RecordSink;
  try {
    await Promise.all([producer.connect(), cassandra.connect()]);
    sink = createKafkaSink(config, producer, codec);
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
      emit: (records) => sink.emit(records),
    });
  } catch (error) {
    probe.stop();
    await Promise.allSettled([producer.disconnect(), cassandra.shutdown()]);
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
      await sink.flush();
      await Promise.allSettled([producer.disconnect(), cassandra.shutdown()]);
    },
  };
}

/** The stage `msgxc run gateway` runs (stages/index.ts). */
export const stage = createGatewayStage();
