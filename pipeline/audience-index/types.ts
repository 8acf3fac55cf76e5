import type { AudienceSlice, Channel, Device } from '../../schemas/types.generated.ts';
import { ChannelSymbols } from '../../schemas/types.generated.ts';
import type { Pacer } from '../concurrency/pacer.ts';

/**
 * The audience document: everything fanout needs to pick and reach one user, so a page of audience
 * is enough to emit delivery batches without a per-user read from Cassandra. Devices are the
 * schemas' `Device` records, which fanout copies into `Recipient.device` as they are.
 */

export type { AudienceSlice, Channel, Device };

/** Every channel, from the Avro `dev.msgxc.Channel` enum. */
export const CHANNELS = ChannelSymbols;

/** The channels reached through a device address; `ws` is a presence flag instead. */
export const DEVICE_CHANNELS = ['webpush', 'apns', 'fcm', 'sms', 'email'] as const satisfies readonly Channel[];
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];

/** A channel preference list holding only this means "send me nothing". */
export const OPT_OUT = '~';

/**
 * Devices per channel, newest first (at most MAX_DEVICES_PER_CHANNEL each). `ws` is true while the
 * user has a realtime client enlisted: the gateway delivers to every live connection of the user.
 */
export interface AudienceDevices {
  ws: boolean;
  webpush: Device[];
  apns: Device[];
  fcm: Device[];
  sms: Device[];
  email: Device[];
}

export interface ThreadPreference {
  tid: string;
  /** Channels for this thread in preference order; `["~"]` mutes the thread. */
  channels: string[];
}

export interface ExperimentSplit {
  experiment: string;
  variant: string;
}

export interface AudienceDoc {
  uid: string;
  /** A stable hash of the uid in [0, BUCKETS), used to slice an audience between consumers. */
  bucket: number;
  devices: AudienceDevices;
  /** Channel preferences in order; empty means "no restriction"; `["~"]` opts out of everything. */
  channels: string[];
  threadPreferences: ThreadPreference[];
  /** Threads the user is subscribed to. */
  tids: string[];
  cohorts: string[];
  /** At most one variant per experiment. */
  splits: ExperimentSplit[];
  locale: string | null;
  timeZone: string | null;
  /** Epoch ms. */
  lastSeen: number | null;
  /** Epoch ms of the newest change or snapshot applied. */
  updatedAt: number;
  /** Derived on every write: the channels the user has an address on (`ws` while enlisted). */
  reachable: Channel[];
  /** Derived on every write: the channel preferences are `["~"]`. */
  optedOut: boolean;
}

/**
 * A whole user as the source of truth holds it, for `upsert`: derived fields are computed and
 * anything left out is empty. `updatedAt` is when it was read (default: now); parts of the document
 * changed after that by `applyChange` are kept.
 */
export type AudienceSnapshot = Pick<AudienceDoc, 'uid'> &
  Partial<Omit<AudienceDoc, 'uid' | 'bucket' | 'devices' | 'reachable' | 'optedOut'>> & {
    devices?: Partial<AudienceDevices>;
  };

export type AudienceQuery =
  | { kind: 'thread'; tid: string }
  | { kind: 'uids'; uids: readonly string[] }
  | { kind: 'everyone' }
  | { kind: 'cohort'; cohort: string }
  | { kind: 'split'; experiment: string; variant: string };

export interface PageOptions {
  /** Documents per page (1–10 000); a page holds at most this many, the last one usually fewer. */
  pageSize: number;
  /** Only users reachable on at least one of these channels. */
  reachableOn?: readonly Channel[];
  /**
   * The channels whose devices the consumer uses: only their secrets are opened (an AES-GCM decryption per
   * token or key, most of the layer's cost per document), the other channels' device lists come back empty.
   * Default: every channel.
   */
  devicesOn?: readonly Channel[];
  /**
   * Hand the devices out as the index stores them, their secrets sealed (see device-secrets.ts): the delivery
   * stage opens each just before sending, so tokens and keys never cross Kafka, a retry topic or a dead-letter
   * topic in clear, and a broadcast's walk does no decryption at all. Default false: opened here.
   */
  sealed?: boolean;
  /** Leave out users whose preferences are `["~"]`. Default false: the query returns whom it names. */
  excludeOptedOut?: boolean;
  /** One of `max` disjoint parts of the audience, stable across processes (FanoutJob.slice). */
  slice?: AudienceSlice | null;
  /** How long the point in time stays open between two pages (a duration such as `2m`). Default `MSGXC_SEARCH_PIT_KEEP_ALIVE` (2m). */
  keepAlive?: string;
  /** Stop paging (closing the point in time) when aborted. */
  signal?: AbortSignal;
  /** Paces the walk's requests: background walks (bulk broadcasts) back off while the engine is contended. */
  pacer?: Pacer;
}
