/** The topic table and the command that makes Kafka match it. */
export { type EnsureReport, ensureTopics, waitForTopics } from './ensure.ts';
export {
  channels,
  consumingStages,
  hasTopic,
  perInstanceStages,
  renderTopology,
  type TopicSpec,
  topicName,
  topicSpec,
  topology,
  urgencies,
} from './topology.ts';
export { type AvroTopic, type TopicInput, type TopicValue, topicValueSchemas } from './values.ts';
