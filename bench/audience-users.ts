import type { AudienceIndex, AudienceSnapshot, Device } from '../pipeline/audience-index/index.ts';

/**
 * The synthetic audience the audience and fanout benches index and page: half iOS, half browsers, everyone
 * subscribed to a couple of threads, one in ten a VIP; each bench adds what it needs (`extra`).
 */
export function benchUser(i: number, at: number): AudienceSnapshot {
  const uid = `bench-${i.toString(36).padStart(6, '0')}`;
  const apns: Device = {
    channel: 'apns',
    id: `a${i}`,
    token: i.toString(16).padStart(64, '0'),
    subscription: null,
    address: null,
    platform: 'ios',
  };
  const webpush: Device = {
    channel: 'webpush',
    id: `w${i}`,
    token: null,
    subscription: {
      endpoint: `https://fcm.googleapis.com/fcm/send/${uid}`,
      expirationTime: null,
      p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
      auth: 'tBHItJI5svbpez7KI4CCXg',
    },
    address: null,
    platform: 'chrome',
  };
  return {
    uid,
    devices: i % 2 === 0 ? { apns: [apns] } : { webpush: [webpush] },
    tids: [`thread-${i % 50}`, `thread-${i % 7}`],
    cohorts: i % 10 === 0 ? ['vip'] : [],
    channels: [],
    locale: 'en-GB',
    timeZone: 'Europe/London',
    lastSeen: at,
    updatedAt: at,
  };
}

/** Indexes `users` bench users through the audience layer in bulk; returns the seconds it took. */
export async function loadUsers(
  index: AudienceIndex,
  users: number,
  user: (i: number, at: number) => AudienceSnapshot = benchUser,
): Promise<number> {
  const started = performance.now();
  const chunk = 2_000;
  const at = Date.now();
  for (let start = 0; start < users; start += chunk) {
    const snapshots: AudienceSnapshot[] = [];
    for (let i = start; i < Math.min(users, start + chunk); i++) snapshots.push(user(i, at));
    await index.upsertMany(snapshots);
    process.stderr.write(`\rindexed ${Math.min(users, start + chunk)}/${users}`);
  }
  process.stderr.write('\n');
  return (performance.now() - started) / 1000;
}

/** Pages the whole audience (`everyone`, full documents, devices sealed, as fanout reads them); returns the documents seen. */
export async function pageAll(index: AudienceIndex, pageSize: number): Promise<number> {
  let seen = 0;
  for await (const page of index.pages({ kind: 'everyone' }, { pageSize, sealed: true })) seen += page.length;
  return seen;
}

/** Times a scan that must see `expected` documents; returns documents per second. */
export async function timedScan(expected: number, scan: () => Promise<number>): Promise<number> {
  const started = performance.now();
  const seen = await scan();
  const seconds = (performance.now() - started) / 1000;
  if (seen !== expected) throw new Error(`scan saw ${seen} documents, expected ${expected}`);
  return seen / seconds;
}

export function rate(value: number): string {
  return Math.round(value).toLocaleString('en-GB');
}
