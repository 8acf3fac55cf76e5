import type { OutgoingMessage } from '../../../pipeline/delivery/contract.ts';
import { buildDeliveryBatch, type DeliveryBatch, type Device } from '../../../schemas/types.generated.ts';

/** Messages and devices for the SMS and email tests, shaped as fanout emits them. */

export function addressDevice(channel: 'sms' | 'email', address: string, id = `${channel}-${address}`): Device {
  return { channel, id, token: null, subscription: null, address, platform: null };
}

export function batchFor(
  devices: { uid: string; device: Device; deliveryId?: string }[],
  fields: Partial<DeliveryBatch> = {},
): DeliveryBatch {
  const messageId = fields.messageId ?? `msg-${Math.random().toString(36).slice(2, 10)}`;
  const channel = devices[0]?.device.channel ?? 'sms';
  return buildDeliveryBatch({
    batchId: `${messageId}:${channel}:0`,
    channel,
    messageId,
    urgency: 3,
    subject: null,
    msg: 'Your code is 123456',
    recipients: devices.map(({ uid, device, deliveryId }) => ({
      deliveryId: deliveryId ?? `${messageId}:${uid}:${device.id}`,
      uid,
      device,
      variant: null,
      locale: null,
    })),
    sender: { kind: 'service', id: 'test' },
    createdAt: Date.now(),
    batchedAt: Date.now(),
    ...fields,
  });
}

export function outgoing(batch: DeliveryBatch): OutgoingMessage[] {
  return batch.recipients.map((recipient) => ({
    batch,
    recipient,
    subject: batch.subject,
    text: batch.msg,
    attempt: 0,
  }));
}

export const signal = () => new AbortController().signal;
