import type { Channel, Device } from '../../schemas/types.generated.ts';

/** One delivery fanout plans for a recipient: the channel, the device (null for ws) and its id. */
export interface PlannedDelivery {
  channel: Channel;
  device: Device | null;
  deliveryId: string;
}

/** One user whose first delivery goes unacknowledged past the deadline gets these deliveries instead. */
export interface EscalationEntry {
  messageId: string;
  uid: string;
  variant: string | null;
  locale: string | null;
  /** The channel tried first, whose acknowledgement is awaited. */
  channel: Channel;
  dueAt: number;
  fallback: PlannedDelivery[];
}
