import { bucketOf, sliceRange } from '../../pipeline/audience-index/bucket.ts';
import type {
  AudienceDoc,
  AudienceDevices as AudienceDocDevices,
  AudienceQuery,
  PageOptions,
} from '../../pipeline/audience-index/types.ts';
import { DEVICE_CHANNELS } from '../../pipeline/audience-index/types.ts';
import type { Device } from '../../schemas/types.generated.ts';
import type { AudienceSource } from '../../stages/fanout/audience.ts';

/**
 * An in-memory audience with the index layer's query semantics (uid order, slices by the same
 * buckets, opted-out and reachability filters), for the handler's unit tests. The integration tests
 * and the benchmark run against the real index.
 */
export function memoryAudience(docs: readonly AudienceDoc[]): AudienceSource & { pagesRead: number } {
  const sorted = [...docs].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  const source = {
    pagesRead: 0,
    async *pages(query: AudienceQuery, options: PageOptions) {
      const matching = sorted.filter((doc) => matches(doc, query, options));
      for (let start = 0; start < matching.length; start += options.pageSize) {
        source.pagesRead++;
        yield matching.slice(start, start + options.pageSize).map((doc) => withDevicesOn(doc, options.devicesOn));
      }
    },
    async count(query: AudienceQuery, options: Omit<PageOptions, 'pageSize'>) {
      return sorted.filter((doc) => matches(doc, query, options)).length;
    },
  };
  return source;
}

/** A copy, with the device lists of channels outside `devicesOn` emptied, as the index layer hands them out. */
function withDevicesOn(doc: AudienceDoc, devicesOn: PageOptions['devicesOn']): AudienceDoc {
  const copy = structuredClone(doc);
  if (!devicesOn) return copy;
  for (const channel of DEVICE_CHANNELS) if (!devicesOn.includes(channel)) copy.devices[channel] = [];
  return copy;
}

function matches(doc: AudienceDoc, query: AudienceQuery, options: Omit<PageOptions, 'pageSize'>): boolean {
  if (options.excludeOptedOut && doc.optedOut) return false;
  if (options.reachableOn?.length && !options.reachableOn.some((channel) => doc.reachable.includes(channel)))
    return false;
  if (options.slice) {
    const { from, to } = sliceRange(options.slice);
    if (doc.bucket < from || doc.bucket >= to) return false;
  }
  switch (query.kind) {
    case 'everyone':
      return true;
    case 'thread':
      return doc.tids.includes(query.tid);
    case 'uids':
      return query.uids.includes(doc.uid);
    case 'cohort':
      return doc.cohorts.includes(query.cohort);
    case 'split':
      return doc.splits.some((split) => split.experiment === query.experiment && split.variant === query.variant);
  }
}

/** A document as the index would hold it, with derived fields computed. */
export function audienceDoc(
  uid: string,
  parts: Partial<Omit<AudienceDoc, 'uid' | 'devices'>> & { devices?: Partial<AudienceDocDevices> } = {},
): AudienceDoc {
  const devices: AudienceDocDevices = {
    ws: false,
    webpush: [],
    apns: [],
    fcm: [],
    sms: [],
    email: [],
    ...parts.devices,
  };
  const channels = parts.channels ?? [];
  const reachable = (['webpush', 'apns', 'fcm', 'sms', 'email'] as const).filter(
    (channel) => devices[channel].length > 0,
  );
  return {
    bucket: bucketOf(uid),
    channels,
    threadPreferences: [],
    tids: [],
    cohorts: [],
    splits: [],
    locale: null,
    timeZone: null,
    lastSeen: null,
    updatedAt: 0,
    ...parts,
    uid,
    devices,
    reachable: devices.ws ? ['ws', ...reachable] : reachable,
    optedOut: channels.length === 1 && channels[0] === '~',
  };
}

/** A device for tests: a `tok-<id>` token on the push channels, an address on email and SMS. */
export function testDevice(channel: 'apns' | 'fcm' | 'email' | 'sms', id: string): Device {
  const push = channel === 'apns' || channel === 'fcm';
  return {
    channel,
    id,
    token: push ? `tok-${id}` : null,
    subscription: null,
    address: channel === 'email' ? `${id}@example.com` : channel === 'sms' ? '+15550100' : null,
    platform: null,
  };
}
