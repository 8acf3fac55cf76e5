import { randomUUID } from 'node:crypto';
import type { AudienceSnapshot, Device } from '../../pipeline/audience-index/index.ts';
import type { AudienceChange } from '../../schemas/types.generated.ts';

/**
 * A deterministic population of users whose memberships overlap in the ways the queries must tell
 * apart: several threads, cohorts, two experiments (so a nested split query cannot match variant "a"
 * of one experiment against another experiment), opted-out users and users without devices.
 */
export interface FixtureUser {
  uid: string;
  tids: string[];
  cohorts: string[];
  splits: { experiment: string; variant: string }[];
  channels: string[];
  devices: { apns: Device[]; webpush: Device[] };
  locale: string;
}

export function population(count: number): FixtureUser[] {
  return Array.from({ length: count }, (_, i) => {
    const uid = `user-${String(i).padStart(4, '0')}`;
    const tids = [...(i % 3 === 0 ? ['alpha'] : []), ...(i % 5 === 0 ? ['beta'] : []), ...(i === 7 ? ['solo'] : [])];
    const cohorts = [...(i % 4 === 0 ? ['vip'] : []), ...(i % 6 === 1 ? ['churn-risk'] : [])];
    const splits = [
      ...(i < 60 ? [{ experiment: 'e1', variant: i % 2 === 0 ? 'a' : 'b' }] : []),
      ...(i % 7 === 0 ? [{ experiment: 'e2', variant: 'a' }] : []),
    ];
    return {
      uid,
      tids,
      cohorts,
      splits,
      channels: i % 10 === 0 ? ['~'] : i % 10 === 1 ? ['webpush', 'apns'] : [],
      devices: {
        apns: i % 2 === 0 ? [apnsDevice(`apns-${i}`)] : [],
        webpush: i % 3 === 1 ? [webPushDevice(`wp-${i}`)] : [],
      },
      locale: i % 2 === 0 ? 'en-GB' : 'fr-FR',
    };
  });
}

export function apnsDevice(id: string): Device {
  return { channel: 'apns', id, token: `token-${id}`, subscription: null, address: null, platform: 'ios' };
}

export function webPushDevice(id: string): Device {
  return {
    channel: 'webpush',
    id,
    token: null,
    subscription: {
      endpoint: `https://push.example/${id}`,
      expirationTime: null,
      p256dh: `p256dh-${id}`,
      auth: `auth-${id}`,
    },
    address: null,
    platform: 'chrome',
  };
}

export function snapshotOf(user: FixtureUser, at: number): AudienceSnapshot {
  return {
    uid: user.uid,
    tids: user.tids,
    cohorts: user.cohorts,
    splits: user.splits,
    channels: user.channels,
    devices: user.devices,
    locale: user.locale,
    updatedAt: at,
  };
}

/** The same user expressed as the stream of changes the HTTP facade would emit. */
export function changesOf(user: FixtureUser, at: number): AudienceChange[] {
  const changes: AudienceChange[] = [];
  for (const device of [...user.devices.apns, ...user.devices.webpush]) {
    changes.push(change(user.uid, 'enlist_device', at, { device }));
  }
  for (const tid of user.tids) changes.push(change(user.uid, 'subscribe', at, { tid }));
  for (const name of user.cohorts) changes.push(change(user.uid, 'cohort', at, { cohort: { name, member: true } }));
  for (const split of user.splits) {
    changes.push(change(user.uid, 'split', at, { split: { experimentId: split.experiment, variant: split.variant } }));
  }
  const optOut = user.channels[0] === '~';
  changes.push(
    change(user.uid, 'preferences', at, {
      preferences: { tid: null, channels: optOut ? [] : (user.channels as never), optOut },
    }),
  );
  changes.push(change(user.uid, 'profile', at, { profile: { locale: user.locale, timeZone: null, lastSeen: null } }));
  return changes;
}

export function change(
  uid: string,
  type: AudienceChange['type'],
  at: number,
  fields: Partial<AudienceChange> = {},
): AudienceChange {
  return {
    changeId: randomUUID(),
    type,
    uid,
    at,
    device: null,
    tid: null,
    preferences: null,
    profile: null,
    cohort: null,
    split: null,
    source: 'test',
    trace: null,
    ...fields,
  };
}

export function uniquePrefix(): string {
  return `msgxc-test-${randomUUID().slice(0, 8)}`;
}
