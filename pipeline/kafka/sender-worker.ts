import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log/index.ts';
import { createKafka, requestProducerConfig } from './client.ts';
import { platformaticTransport } from './platformatic.ts';
import { kafkajsTransport } from './producer.ts';
import type { SenderData, SenderReply, SenderRequest, SentError } from './sender-thread.ts';
import { unpackTopicMessages } from './wire.ts';

/** The sender thread (sender-thread.ts): one `request` producer, its calls answered in the order they finish. */

const { config, client } = workerData as SenderData;
const port = parentPort;
if (port === null) throw new Error('sender-worker.ts runs as a worker thread');
const log = createLogger(config, 'kafka-sender');
const transport =
  client === 'platformatic'
    ? platformaticTransport(config, log.child({ component: 'platformatic-kafka' }), 'request')
    : kafkajsTransport(
        createKafka(config, log.child({ component: 'kafkajs' }), { lowLatency: true }).producer(requestProducerConfig),
      );
transport.onDisconnect(() => port.postMessage({ event: 'disconnect' } satisfies SenderReply));

const sentError = (error: unknown): SentError => ({
  name: error instanceof Error ? error.name : 'Error',
  message: error instanceof Error ? error.message : String(error),
  retriable: (error as { retriable?: unknown } | null)?.retriable === true,
});

async function answer(request: SenderRequest): Promise<void> {
  try {
    if (request.op === 'connect') await transport.connect();
    else if (request.op === 'send') await transport.send(unpackTopicMessages(request.packed));
    else await transport.disconnect();
    port?.postMessage({ id: request.id } satisfies SenderReply);
  } catch (error) {
    port?.postMessage({ id: request.id, error: sentError(error) } satisfies SenderReply);
  }
}

port.on('message', (request: SenderRequest) => {
  void answer(request);
});
