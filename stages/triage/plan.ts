import { MsgxcError } from '../../pipeline/errors/index.ts';
import { type Channel, ChannelSymbols, type DeliveryPlan } from '../../schemas/types.generated.ts';

/**
 * The delivery plan per urgency, in the terms fanout executes (stages/fanout/recipients.ts):
 * - 4 high → `fallback`: the first reachable channel now (a connected WebSocket first, then the phone's
 *   push), and the next reachable one when the first goes unacknowledged within `escalateAfterMs`. With a
 *   single allowed channel there is nothing to fall back to, so it is `realtime`.
 * - 3 normal → `realtime`: every reachable allowed channel now.
 * - 2 low → `nearline`: the first reachable channel now.
 * - 1 very-low → `digest`: one channel, collected for a digest where a channel supports it; fanout treats it
 *   like nearline today, so nothing is stranded while no digest collector exists.
 */

/** Preference order when neither the thread nor the request orders the channels: realtime first, paid last. */
export const defaultChannelOrder: readonly Channel[] = ['ws', 'apns', 'fcm', 'webpush', 'email', 'sms'];

export const NO_CHANNEL = 'NO_CHANNEL';

export interface PlanOptions {
  /** How long an urgent delivery waits for an acknowledgement before escalating to the next channel. */
  escalateAfterMs: number;
}

export const defaultPlanOptions: PlanOptions = { escalateAfterMs: 30_000 };

export interface ChosenPlan {
  plan: DeliveryPlan;
  channels: Channel[];
  fallbackChannels: Channel[] | null;
  escalateAfterMs: number | null;
}

const known = new Set<string>(ChannelSymbols);
const isChannel = (value: string): value is Channel => known.has(value);

/**
 * The channels a message may use, in order: the thread's channel types (all channels when it has none)
 * restricted to the request's list when it gives one. Nothing left is a permanent error: no delivery can
 * ever satisfy both.
 */
export function allowedChannels(
  threadTypes: readonly string[] | null | undefined,
  restriction: readonly Channel[] | null,
  requestId: string,
): Channel[] {
  const base = threadTypes?.filter(isChannel) ?? [];
  const ordered = base.length > 0 ? base : [...defaultChannelOrder];
  const unique = [...new Set(ordered)];
  const allowed = restriction ? unique.filter((channel) => restriction.includes(channel)) : unique;
  if (allowed.length === 0) {
    throw new MsgxcError(
      NO_CHANNEL,
      `no channel is both allowed by the thread and requested (${restriction?.join(',')})`,
      {
        retriable: false,
        details: { requestId },
      },
    );
  }
  return allowed;
}

export function choosePlan(
  urgency: number,
  channels: Channel[],
  options: PlanOptions = defaultPlanOptions,
): ChosenPlan {
  switch (urgency) {
    case 4:
      if (channels.length > 1) {
        return {
          plan: 'fallback',
          channels,
          fallbackChannels: channels.slice(1),
          escalateAfterMs: options.escalateAfterMs,
        };
      }
      return { plan: 'realtime', channels, fallbackChannels: null, escalateAfterMs: null };
    case 3:
      return { plan: 'realtime', channels, fallbackChannels: null, escalateAfterMs: null };
    case 2:
      return { plan: 'nearline', channels, fallbackChannels: null, escalateAfterMs: null };
    default:
      return { plan: 'digest', channels, fallbackChannels: null, escalateAfterMs: null };
  }
}
