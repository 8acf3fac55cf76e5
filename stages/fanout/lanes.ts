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
