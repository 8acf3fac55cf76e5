import type { Logger } from '../../pipeline/log/index.ts';
import { buildDeliveryBatch, type DeliveryBatch } from '../../schemas/types.generated.ts';

/**
 * When this gateway instance reads `deliver.ws`. Its consumer group is its own and starts at the latest
 * offset once it has its partitions, so a batch produced before that moment never reaches it. A resume
 * must read the inbox only after it: then a message is either in the inbox when the replay reads it, or
 * its batch comes after the starting offset and arrives live — fanout writes the inbox before it emits.
 *
 * The instance learns the moment by producing a probe onto `deliver.ws` (a batch with no recipients, so
 * every gateway ignores it) until its own consumer hands one back.
 */

const probePrefix = 'gateway-probe:';
const probeEveryMs = 1000;

export interface ConsumingProbe {
  /** Resolves once a probe came back through this instance's consumer. */
  readonly consuming: Promise<void>;
  /** Called with every consumed batch; true when it was a probe (of any instance), which needs no delivery. */
  observe(batch: DeliveryBatch): boolean;
  /** Starts producing probes (once the producer is connected). */
  start(): void;
  stop(): void;
}

export function createConsumingProbe(
  gatewayId: string,
  send: (batch: DeliveryBatch) => Promise<void>,
  log: Logger,
): ConsumingProbe {
  const id = `${probePrefix}${gatewayId}`;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let resolve: () => void = () => undefined;
  const consuming = new Promise<void>((settle) => {
    resolve = settle;
  });
  const finish = () => {
    done = true;
    clearTimeout(timer);
    resolve();
  };

  const probe = () => {
    if (done) return;
    const at = Date.now();
    const batch = buildDeliveryBatch({
      batchId: `${id}:${at}`,
      channel: 'ws',
      messageId: id,
      urgency: 1,
      recipients: [],
      sender: { kind: 'service', id: 'gateway' },
      createdAt: at,
      batchedAt: at,
    });
    send(batch).then(
      () => undefined,
      (error: unknown) => log.warn({ err: error }, 'gateway probe could not be produced; trying again'),
    );
    timer = setTimeout(probe, probeEveryMs);
    timer.unref();
  };

  return {
    consuming,
    start: probe,
    observe(batch) {
      if (!batch.messageId.startsWith(probePrefix)) return false;
      if (batch.messageId === id && !done) {
        log.info({ gatewayId }, 'gateway consuming deliver.ws: resumes replay from now on');
        finish();
      }
      return true;
    },
    stop: finish,
  };
}
