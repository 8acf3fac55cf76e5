import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createCassandra } from '../../pipeline/cassandra/index.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { createKafka, createRecordProducer } from '../../pipeline/kafka/index.ts';
import type { Logger } from '../../pipeline/log/index.ts';
import { defineStage } from '../../pipeline/runtime/index.ts';
import { createEscalationStore } from '../../pipeline/store/escalations.ts';
import { createMessageStore, type MessageStore } from '../../pipeline/store/message.ts';
import { createSessionStore } from '../../pipeline/store/session.ts';
import type { Channel } from '../../schemas/types.generated.ts';
import { sweepEscalations } from './escalations.ts';
import { type AckDependencies, handleAcks } from './handler.ts';
import { ackRecordedUntil } from './recorded-until.ts';

/**
 * ack: acknowledgements → events and delivery state, check-ins → online sessions, other stages'
 * per-recipient events → delivery state; and, on a timer, the escalation sweep (escalations.ts).
 */

export { handleAcks } from './handler.ts';

/** States that count as the user having the message (any channel): no escalation needed. */
const acknowledgedStates = ['delivered', 'opened', 'clicked', 'dismissed', 'read'];

export function acknowledgedBy(messages: Pick<MessageStore, 'deliveryOf'>) {
  return async (messageId: string, uid: string, _channel: Channel): Promise<boolean> => {
    const states = await messages.deliveryOf(messageId, uid);
    return states.some((state) => acknowledgedStates.some((name) => name in state.states));
  };
}

/** Runs `sweep` every `everyMs`, never two at once; `stop` waits for a running sweep. */
export function startSweeper(everyMs: number, sweep: () => Promise<void>, log: Logger) {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .catch((error: unknown) => log.warn({ err: error }, 'escalation sweep failed; the next one retries'))
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

export const stage = defineStage<unknown, AckDependencies & { close: () => Promise<void> }>({
  name: 'ack',
  input: ['acks', 'checkins', 'events'],
  // The handler writes events only; the escalation sweep produces its deliver.<channel> batches itself.
  output: ['events'],
  // Delivery state, counters, sessions and read markers record what happened; they can wait while a message
  // is on its way, rather than compete with it for the CPU (the ack process used 10 % of a core at 20 messages/s).
  priority: 'background',
  async setup(config: Config, log: Logger) {
    const admin = createKafka(config, log).admin();
    await admin.connect();
    const cassandra = createCassandra(config);
    const messages = createMessageStore(cassandra);
    const sessions = createSessionStore(cassandra);
    const escalations = createEscalationStore(cassandra);
    // The sweep's deliver.<channel> batches and events leave through a producer of its own: they are not a
    // batch's outputs, so the runtime does not produce them.
    const producer = createRecordProducer(config, { log });
    const recordedUntil = ackRecordedUntil(config, admin);
    const owner = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const sweeper = startSweeper(
      config.ack.escalationSweepMs,
      async () => {
        const result = await sweepEscalations({
          store: escalations,
          acknowledged: acknowledgedBy(messages),
          recordedUntil,
          emit: (records) => producer.send(records),
          owner,
          now: Date.now,
        });
        if (result.escalated + result.acknowledged + result.deferred > 0) log.info(result, 'escalation sweep');
      },
      log,
    );
    return {
      messages,
      sessions,
      log,
      async close() {
        await sweeper.stop();
        await Promise.allSettled([producer.close(), admin.disconnect(), cassandra.shutdown()]);
      },
    };
  },
  handler: (batch, { deps }) => handleAcks(batch as Parameters<typeof handleAcks>[0], deps),
});
