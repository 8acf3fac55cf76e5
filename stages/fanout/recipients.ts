import { type AudienceDoc, OPT_OUT } from '../../pipeline/audience-index/types.ts';
import { deliveryIdOf } from '../../pipeline/records/delivery.ts';
import type { PlannedDelivery } from '../../pipeline/records/escalation.ts';
import type { VariantAssigner } from '../../pipeline/records/variants.ts';
import type { Channel, Device, FanoutJob, Variant } from '../../schemas/types.generated.ts';
import { devicesOn } from './devices.ts';

/**
 * Decides, for one user of a fanout job, whether they get the message, in which variant and on which
 * devices. Pure: everything it needs is in the audience document and the job, so a page of documents
 * turns into deliveries without a read per user.
 */

export type DropReason = 'OPTED_OUT' | 'THREAD_MUTED' | 'CHANNEL_NOT_ACCEPTED' | 'NO_DEVICE' | 'HOLDOUT';

export type RecipientPlan =
  | {
      kind: 'deliver';
      uid: string;
      variant: string | null;
      locale: string | null;
      deliveries: PlannedDelivery[];
      /** Plan fallback: the deliveries on the next reachable channel, sent if the first goes unacknowledged. */
      escalation: PlannedDelivery[];
    }
  | { kind: 'drop'; uid: string; variant: string | null; reason: DropReason };

export interface PlanSettings {
  /** Most devices of one user reached on one push channel (apns, fcm, webpush); sms and email use the newest address only. */
  maxDevicesPerChannel: number;
  /**
   * `always`: every recipient of a ws-allowed message gets a ws delivery (the gateway writes to whatever
   * connections it holds); `presence`: only users the index marks connected. Plans that pick one channel
   * (nearline, fallback, digest) always use presence, so an offline user is reached by push instead.
   */
  wsReachability: 'always' | 'presence';
}

export interface PlanContext {
  job: FanoutJob;
  /** The experiment's assigner, when the job carries an experiment and the audience is not a split. */
  assigner: VariantAssigner | undefined;
  /** Variant content by name, for per-variant channel overrides. */
  variants: ReadonlyMap<string, Variant>;
  settings: PlanSettings;
  now: number;
}

export function planRecipient(doc: AudienceDoc, context: PlanContext): RecipientPlan {
  const { job, settings } = context;
  const uid = doc.uid;
  const variant = variantOf(doc, context);
  if (doc.optedOut || isOptOut(doc.channels)) return { kind: 'drop', uid, variant, reason: 'OPTED_OUT' };

  const threadChannels =
    job.tid === null ? undefined : doc.threadPreferences.find((pref) => pref.tid === job.tid)?.channels;
  if (threadChannels && isOptOut(threadChannels)) return { kind: 'drop', uid, variant, reason: 'THREAD_MUTED' };

  if (context.assigner && variant === null) return { kind: 'drop', uid, variant, reason: 'HOLDOUT' };

  // A variant may change the channels, but only within what the message allows (the thread's channel
  // types and the request's restriction, which triage already applied to job.channels).
  const variantChannels = variant === null ? undefined : context.variants.get(variant)?.channels;
  const allowed = variantChannels ? variantChannels.filter((channel) => job.channels.includes(channel)) : job.channels;
  const preferred = threadChannels?.length ? threadChannels : doc.channels.length ? doc.channels : undefined;
  // A user's preference list both restricts and orders; without one, the message's order stands.
  const ordered = preferred ? (preferred.filter((c) => (allowed as string[]).includes(c)) as Channel[]) : [...allowed];
  if (ordered.length === 0) return { kind: 'drop', uid, variant, reason: 'CHANNEL_NOT_ACCEPTED' };

  const single = job.plan !== 'realtime';
  const reachable: { channel: Channel; devices: (Device | null)[] }[] = [];
  for (const channel of ordered) {
    const devices = devicesFor(doc, channel, single ? 'presence' : settings.wsReachability, context);
    if (devices.length > 0) reachable.push({ channel, devices });
  }
  const chosen = single ? reachable.slice(0, 1) : reachable;
  // Urgent (fallback) messages also go to open WebSockets: the gateway writes to whatever connections the
  // user holds, and with `always` a connected client must not be skipped because the index knows no presence.
  const wsOnTop = job.plan === 'fallback' && settings.wsReachability === 'always' && ordered.includes('ws');
  if (wsOnTop && !chosen.some((entry) => entry.channel === 'ws')) chosen.push({ channel: 'ws', devices: [null] });
  if (chosen.length === 0) return { kind: 'drop', uid, variant, reason: 'NO_DEVICE' };

  const deliveries = chosen.flatMap((entry) => toDeliveries(job, uid, entry));
  return {
    kind: 'deliver',
    uid,
    variant,
    locale: doc.locale,
    deliveries,
    escalation: escalationOf(job, uid, chosen, reachable),
  };
}

function toDeliveries(
  job: FanoutJob,
  uid: string,
  entry: { channel: Channel; devices: (Device | null)[] },
): PlannedDelivery[] {
  return entry.devices.map((device) => ({
    channel: entry.channel,
    device,
    deliveryId: deliveryIdOf(job.messageId, uid, device?.id ?? null),
  }));
}

/**
 * Plan fallback: the deliveries on the first channel after the one chosen — from the job's fallback
 * list when triage gave one, else the user's remaining reachable channels — that the user can be reached on.
 */
function escalationOf(
  job: FanoutJob,
  uid: string,
  chosen: readonly { channel: Channel }[],
  reachable: readonly { channel: Channel; devices: (Device | null)[] }[],
): PlannedDelivery[] {
  if (job.plan !== 'fallback') return [];
  const first = chosen[0]?.channel;
  const order = job.fallbackChannels ?? reachable.map((entry) => entry.channel);
  for (const channel of order) {
    if (channel === first) continue;
    const entry = reachable.find((candidate) => candidate.channel === channel);
    if (entry) return toDeliveries(job, uid, entry);
  }
  return [];
}

function devicesFor(
  doc: AudienceDoc,
  channel: Channel,
  ws: PlanSettings['wsReachability'],
  context: PlanContext,
): (Device | null)[] {
  if (channel === 'ws') return ws === 'always' || doc.devices.ws ? [null] : [];
  const limit = channel === 'sms' || channel === 'email' ? 1 : context.settings.maxDevicesPerChannel;
  return devicesOn(doc, channel, limit, context.now);
}

function variantOf(doc: AudienceDoc, context: PlanContext): string | null {
  const { job } = context;
  if (job.audience.kind === 'split') {
    // The split audience names users by the variant the index holds for them; that is their variant.
    return (
      job.audience.variant ??
      doc.splits.find((split) => split.experiment === job.audience.experimentId)?.variant ??
      null
    );
  }
  return context.assigner?.assign(doc.uid) ?? null;
}

function isOptOut(channels: readonly string[]): boolean {
  return channels.includes(OPT_OUT);
}
