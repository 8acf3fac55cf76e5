import type { TopicSchemaName, TopicValueInputs, TopicValueTypes } from '../../schemas/index.ts';

/**
 * The value schema of each Avro topic, by logical name, for typing code that reads or writes a known
 * topic: `TopicValue<'lane.4'>` is `PrioritizedRequest`. A unit test keeps it equal to the table.
 */
export const topicValueSchemas = {
  ingest: 'dev.msgxc.IngestRequest',
  'prioritize.sightings': 'dev.msgxc.RequestSighting',
  'lane.1': 'dev.msgxc.PrioritizedRequest',
  'lane.2': 'dev.msgxc.PrioritizedRequest',
  'lane.3': 'dev.msgxc.PrioritizedRequest',
  'lane.4': 'dev.msgxc.PrioritizedRequest',
  'fanout.urgent': 'dev.msgxc.FanoutJob',
  fanout: 'dev.msgxc.FanoutJob',
  'fanout.bulk': 'dev.msgxc.FanoutJob',
  'deliver.ws': 'dev.msgxc.DeliveryBatch',
  'deliver.webpush': 'dev.msgxc.DeliveryBatch',
  'deliver.apns': 'dev.msgxc.DeliveryBatch',
  'deliver.fcm': 'dev.msgxc.DeliveryBatch',
  'deliver.sms': 'dev.msgxc.DeliveryBatch',
  'deliver.email': 'dev.msgxc.DeliveryBatch',
  'deliver.ws.urgent': 'dev.msgxc.DeliveryBatch',
  'deliver.webpush.urgent': 'dev.msgxc.DeliveryBatch',
  'deliver.apns.urgent': 'dev.msgxc.DeliveryBatch',
  'deliver.fcm.urgent': 'dev.msgxc.DeliveryBatch',
  'deliver.sms.urgent': 'dev.msgxc.DeliveryBatch',
  'deliver.email.urgent': 'dev.msgxc.DeliveryBatch',
  events: 'dev.msgxc.DeliveryEvent',
  acks: 'dev.msgxc.Acknowledgement',
  checkins: 'dev.msgxc.CheckIn',
  audience: 'dev.msgxc.AudienceChange',
  messages: 'dev.msgxc.StoredMessage',
} as const satisfies Record<string, TopicSchemaName>;

export type AvroTopic = keyof typeof topicValueSchemas;
/** The decoded value of an Avro topic. */
export type TopicValue<T extends AvroTopic> = TopicValueTypes[(typeof topicValueSchemas)[T]];
/** What a producer may pass for an Avro topic (defaulted fields optional). */
export type TopicInput<T extends AvroTopic> = TopicValueInputs[(typeof topicValueSchemas)[T]];
