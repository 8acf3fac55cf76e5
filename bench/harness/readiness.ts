import { randomUUID } from 'node:crypto';
import type { AudienceDoc } from '../../pipeline/audience-index/index.ts';
import { createKafka, producerConfig } from '../../pipeline/kafka/index.ts';
import { createLogger } from '../../pipeline/log/index.ts';
import { createSerde } from '../../pipeline/serde/index.ts';
import { topicName } from '../../pipeline/topics/index.ts';
import { type Api, eventually } from './api.ts';
import { wsBatch } from './batches.ts';
import type { Client } from './client.ts';
import type { System } from './system.ts';

/**
 * Knowing when the system is ready without sleeping: the audience index holds what a user did, and a probe
 * travels the whole pipeline (or just deliver.ws → gateway) to a probe client. A per-instance consumer group
 * (the gateway) starts at the latest offset once it has its partitions, so anything produced for it before
 * then is never seen: the probe is repeated until one gets through.
 */

/** Waits until the audience index document of `uid` satisfies `check`, then makes it searchable. */
export async function indexed(system: System, uid: string, check: (doc: AudienceDoc) => boolean): Promise<void> {
  await eventually(
    `the audience index to reflect ${uid}`,
    async () => {
      const doc = await system.index.get(uid);
      return doc && check(doc) ? true : undefined;
    },
    { timeoutMs: 90_000 },
  );
  await system.index.refresh();
}

/** Sends `send` requests to the probe client over HTTP until one arrives: every stage on the path is consuming. */
export async function pipelineReady(api: Api, adminToken: string, probe: Client, timeoutMs = 180_000): Promise<void> {
  const marker = `probe-${randomUUID()}`;
  const until = Date.now() + timeoutMs;
  let sent = 0;
  while (!probe.messages.some((frame) => frame.msg?.startsWith(marker))) {
    if (Date.now() > until) throw new Error(`no probe reached ${probe.uid} within ${timeoutMs} ms (${sent} sent)`);
    await api.ok('POST', '/api/v1/send', adminToken, { uid: probe.uid, msg: `${marker}-${sent++}` });
    await probe.waitFor((frame) => frame.msg?.startsWith(marker) ?? false, 3_000).catch(() => undefined);
  }
}

/** Produces ws delivery batches for the client straight to deliver.ws until one arrives: the gateway is consuming. */
export async function gatewayReady(system: System, client: Client, timeoutMs = 120_000): Promise<void> {
  const config = system.config;
  const serde = createSerde(config);
  const producer = createKafka(config, createLogger(config, 'e2e-probe')).producer(producerConfig);
  await producer.connect();
  const ids = new Set<string>();
  try {
    const until = Date.now() + timeoutMs;
    while (!client.messages.some((frame) => ids.has(frame.id))) {
      if (Date.now() > until) throw new Error(`no gateway probe reached ${client.uid} within ${timeoutMs} ms`);
      const batch = wsBatch([{ uid: client.uid }], { msg: 'gateway-probe', messageId: randomUUID() });
      ids.add(batch.messageId);
      await producer.send({
        topic: topicName(config, 'deliver.ws'),
        acks: -1,
        messages: [{ key: batch.batchId, value: await serde.encode('deliver.ws', batch) }],
      });
      await client.waitFor((frame) => ids.has(frame.id), 2_000).catch(() => undefined);
    }
  } finally {
    await producer.disconnect();
  }
}
