import { loadConfig } from '../pipeline/config/index.ts';
import { createIngestProducer } from '../pipeline/ingest-producer/index.ts';

/**
 * An internal service sending messages without the HTTP API: the same Avro `IngestRequest` records the
 * facade writes, produced straight to the ingest topic through the schema registry. The sender is the
 * service (sender kind `service`); triage still checks what it may do.
 *
 *   npx node examples/service-producer.ts <uid> "<message>"
 *
 * Configuration comes from the usual MSGXC_* variables (Kafka brokers, registry URL, topic prefix).
 */

const [uid, msg] = process.argv.slice(2);
if (!uid || !msg) {
  console.error('usage: npx node examples/service-producer.ts <uid> "<message>"');
  process.exit(2);
}

const producer = createIngestProducer(loadConfig(), { service: 'billing' });
try {
  await producer.connect();
  // One message to one user; urgency 4 (high) takes the fast lane. The id makes retries harmless:
  // the pipeline drops a request id it has seen in the last 24 hours.
  const requestId = await producer.send({
    requestId: `invoice-ready-${uid}-2024-06`,
    kind: 'send',
    uid,
    msg,
    subject: 'Your invoice is ready',
    urgency: 4,
    channels: ['webpush', 'email'],
    data: JSON.stringify({ url: '/billing/invoices/2024-06' }),
  });
  console.log(`sent ${requestId}`);

  // Many at once go out in one batch; each gets its own id.
  const ids = await producer.sendMany([
    { kind: 'multicast', uids: [uid, 'another-user'], msg: 'Maintenance tonight at 22:00', urgency: 2 },
    { kind: 'broadcast', msg: 'New features are live', urgency: 1, ttlSeconds: 86_400 },
  ]);
  console.log(`sent ${ids.join(', ')}`);
} finally {
  await producer.close();
}
