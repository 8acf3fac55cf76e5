import type { AudienceChange, Device } from '../../schemas/types.generated.ts';
import { permanent } from '../errors/index.ts';
import {
  type AudienceDevices,
  type AudienceDoc,
  type AudienceSnapshot,
  CHANNELS,
  DEVICE_CHANNELS,
  OPT_OUT,
} from './types.ts';

/**
 * Turns records into the apply script's parameters. An AudienceChange becomes element ops keyed the
 * same way the snapshot merge keys elements (`tid:<tid>`, `device:<channel>:<id>`, `prefs:<tid>`,
 * `split:<experiment>`, `cohort:<name>`, and `channels`/`locale`/`timeZone`/`lastSeen`/`device:ws`),
 * so a change and a snapshot agree on which one is newer.
 */

export type ElementOp =
  | { k: string; t: 'add' | 'remove'; f: 'tids' | 'cohorts'; v: string }
  | { k: string; t: 'set'; f: 'channels' | 'locale' | 'timeZone' | 'lastSeen'; v: unknown }
  | { k: string; t: 'device'; ch: string; id: string; on: boolean; v: Device | null }
  | { k: string; t: 'keyed'; f: 'threadPreferences' | 'splits'; by: 'tid' | 'experiment'; id: string; v: unknown };

export type ScriptInput =
  | { mode: 'change'; uid: string; at: number; ops: ElementOp[] }
  | { mode: 'snapshot'; uid: string; at: number; doc: StoredParts }
  | { mode: 'delete'; uid: string; at: number };

/** The parts of a document a snapshot asserts (derived and bookkeeping fields excluded). */
export type StoredParts = Pick<
  AudienceDoc,
  'devices' | 'channels' | 'threadPreferences' | 'tids' | 'cohorts' | 'splits' | 'locale' | 'timeZone' | 'lastSeen'
>;

export function changeToScriptInput(change: AudienceChange): ScriptInput {
  const { uid, at } = change;
  if (!uid) throw invalid(change, 'uid is empty');
  if (!Number.isFinite(at)) throw invalid(change, 'at is not a timestamp');
  const base = { uid, at };
  switch (change.type) {
    case 'delete_user':
      return { mode: 'delete', ...base };
    case 'enlist_device':
    case 'remove_device': {
      const device = change.device;
      if (!device) throw invalid(change, 'device is missing');
      if (!CHANNELS.includes(device.channel)) throw invalid(change, `unknown channel ${device.channel}`);
      const on = change.type === 'enlist_device';
      if (device.channel === 'ws') {
        return { mode: 'change', ...base, ops: [{ k: 'device:ws', t: 'device', ch: 'ws', id: '', on, v: null }] };
      }
      if (!device.id) throw invalid(change, 'device id is empty');
      const k = `device:${device.channel}:${device.id}`;
      return {
        mode: 'change',
        ...base,
        ops: [{ k, t: 'device', ch: device.channel, id: device.id, on, v: on ? normaliseDevice(device) : null }],
      };
    }
    case 'subscribe':
    case 'unsubscribe': {
      if (!change.tid) throw invalid(change, 'tid is missing');
      const t = change.type === 'subscribe' ? 'add' : 'remove';
      return { mode: 'change', ...base, ops: [{ k: `tid:${change.tid}`, t, f: 'tids', v: change.tid }] };
    }
    case 'preferences': {
      const preferences = change.preferences;
      if (!preferences) throw invalid(change, 'preferences are missing');
      const channels = preferences.optOut ? [OPT_OUT] : [...preferences.channels];
      if (preferences.tid === null) {
        return { mode: 'change', ...base, ops: [{ k: 'channels', t: 'set', f: 'channels', v: channels }] };
      }
      const tid = preferences.tid;
      // No channels and no opt-out means "no restriction": the thread preference goes away.
      const v = channels.length === 0 ? null : { tid, channels };
      return {
        mode: 'change',
        ...base,
        ops: [{ k: `prefs:${tid}`, t: 'keyed', f: 'threadPreferences', by: 'tid', id: tid, v }],
      };
    }
    case 'profile': {
      const profile = change.profile;
      if (!profile) throw invalid(change, 'profile is missing');
      const ops: ElementOp[] = [];
      for (const f of ['locale', 'timeZone', 'lastSeen'] as const) {
        if (profile[f] !== null && profile[f] !== undefined) ops.push({ k: f, t: 'set', f, v: profile[f] });
      }
      return { mode: 'change', ...base, ops };
    }
    case 'cohort': {
      const cohort = change.cohort;
      if (!cohort?.name) throw invalid(change, 'cohort is missing');
      const t = cohort.member ? 'add' : 'remove';
      return { mode: 'change', ...base, ops: [{ k: `cohort:${cohort.name}`, t, f: 'cohorts', v: cohort.name }] };
    }
    case 'split': {
      const split = change.split;
      if (!split?.experimentId) throw invalid(change, 'split is missing');
      const experiment = split.experimentId;
      const v = split.variant === null ? null : { experiment, variant: split.variant };
      return {
        mode: 'change',
        ...base,
        ops: [{ k: `split:${experiment}`, t: 'keyed', f: 'splits', by: 'experiment', id: experiment, v }],
      };
    }
    default:
      throw invalid(change, `unknown change type ${String((change as { type: unknown }).type)}`);
  }
}

export function snapshotToScriptInput(snapshot: AudienceSnapshot, now = Date.now()): ScriptInput {
  if (!snapshot.uid) throw permanent('INVALID_AUDIENCE_DOCUMENT', 'uid is empty');
  const devices: AudienceDevices = {
    ws: snapshot.devices?.ws ?? false,
    webpush: [],
    apns: [],
    fcm: [],
    sms: [],
    email: [],
  };
  for (const channel of DEVICE_CHANNELS) {
    const seen = new Set<string>();
    for (const device of snapshot.devices?.[channel] ?? []) {
      if (seen.has(device.id)) continue;
      seen.add(device.id);
      devices[channel].push(normaliseDevice({ ...device, channel }));
    }
  }
  const doc: StoredParts = {
    devices,
    channels: [...(snapshot.channels ?? [])],
    threadPreferences: uniqueBy(snapshot.threadPreferences ?? [], (p) => p.tid).map((p) => ({
      tid: p.tid,
      channels: [...p.channels],
    })),
    tids: [...new Set(snapshot.tids ?? [])],
    cohorts: [...new Set(snapshot.cohorts ?? [])],
    splits: uniqueBy(snapshot.splits ?? [], (s) => s.experiment).map((s) => ({
      experiment: s.experiment,
      variant: s.variant,
    })),
    locale: snapshot.locale ?? null,
    timeZone: snapshot.timeZone ?? null,
    lastSeen: snapshot.lastSeen ?? null,
  };
  return { mode: 'snapshot', uid: snapshot.uid, at: snapshot.updatedAt ?? now, doc };
}

/** A fixed key set, so a device stored from a change and the same device from a snapshot compare equal. */
export function normaliseDevice(device: Device): Device {
  const subscription = device.subscription
    ? {
        endpoint: device.subscription.endpoint,
        expirationTime: device.subscription.expirationTime ?? null,
        p256dh: device.subscription.p256dh,
        auth: device.subscription.auth,
      }
    : null;
  return {
    channel: device.channel,
    id: device.id,
    token: device.token ?? null,
    subscription,
    address: device.address ?? null,
    platform: device.platform ?? null,
  };
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(key(item)) && Boolean(seen.add(key(item))));
}

function invalid(change: AudienceChange, reason: string) {
  return permanent('INVALID_AUDIENCE_CHANGE', `audience change ${change.changeId} (${change.type}): ${reason}`, {
    changeId: change.changeId,
    type: change.type,
  });
}
