import type { IngestRequest } from '../../schemas/types.generated.ts';

/** Logical lane topic of an urgency (1 very-low … 4 high): prioritize and the scheduler write, triage reads. */
export const laneTopic = (urgency: number) => `lane.${urgency}`;
export const laneTopics = [laneTopic(1), laneTopic(2), laneTopic(3), laneTopic(4)] as const;

/**
 * Lane records are keyed by request id, like `ingest`: ingest already spreads a thread's requests over
 * partitions, so a thread key here would buy no ordering, only hot partitions. Messages of a thread are
 * ordered by their time-based ids, which come from createdAt, not from arrival order.
 */
export const laneKey = (request: IngestRequest): string => request.requestId;

/**
 * Fanout runs in three lanes, like triage: a broadcast of adverts expanding 100k users must never hold
 * up an incoming-call alert. Each lane is its own topic and consumer group, so a lane's backlog (or one
 * huge job being streamed) delays only its own lane.
 */
export const fanoutLanes = [
  { stage: 'fanout.urgent', topic: 'fanout.urgent', urgencies: [4] },
  { stage: 'fanout', topic: 'fanout', urgencies: [3] },
  { stage: 'fanout.bulk', topic: 'fanout.bulk', urgencies: [1, 2] },
] as const;

export type FanoutTopic = (typeof fanoutLanes)[number]['topic'];

export const fanoutTopics: readonly FanoutTopic[] = fanoutLanes.map((lane) => lane.topic);

/** The fanout topic for a job of this urgency (urgency outside 1–4 is treated as normal). */
export function fanoutTopicFor(urgency: number): FanoutTopic {
  return fanoutLanes.find((lane) => (lane.urgencies as readonly number[]).includes(urgency))?.topic ?? 'fanout';
}

/**
 * Deliveries of urgency 4 have topics of their own (`deliver.<channel>.urgent`), read by the same stage and the
 * gateway beside the shared one: an urgent batch is then at the head of its own partition, never queued behind
 * the thousands of batches a broadcast puts on `deliver.<channel>`.
 */
export const urgentDeliveryTopic = (channel: string) => `deliver.${channel}.urgent`;

export const deliveryTopicFor = (channel: string, urgency: number) =>
  urgency >= 4 ? urgentDeliveryTopic(channel) : `deliver.${channel}`;

/** Both delivery topics of a channel, the urgent one first. */
export const deliveryTopics = (channel: string) => [urgentDeliveryTopic(channel), `deliver.${channel}`];

/**
 * How urgent a consumer's input is: 2 urgent, 1 normal, 0 bulk; null for topics that carry every urgency after
 * the fact (events, acks, audience changes). `ingest` ranks with the urgent lane: every request's first hop is
 * there, and an urgent one cannot be told apart before prioritize has read it.
 */
export type UrgencyRank = 0 | 1 | 2;

export function urgencyRankOf(logicalTopic: string): UrgencyRank | null {
  if (logicalTopic === 'ingest') return 2;
  const lane = /^lane\.(\d)$/.exec(logicalTopic);
  if (lane) return rankOfUrgency(Number(lane[1]));
  const fanout = fanoutLanes.find((entry) => entry.topic === logicalTopic);
  if (fanout) return rankOfUrgency(Math.max(...fanout.urgencies));
  if (/^deliver\.[a-z]+\.urgent$/.test(logicalTopic)) return 2;
  if (/^deliver\.[a-z]+$/.test(logicalTopic)) return 1;
  return null;
}

const rankOfUrgency = (urgency: number): UrgencyRank => (urgency >= 4 ? 2 : urgency === 3 ? 1 : 0);
