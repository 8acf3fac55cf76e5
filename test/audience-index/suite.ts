import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDeviceSecrets } from '../../pipeline/audience-index/device-secrets.ts';
import {
  type AudienceDoc,
  type AudienceIndex,
  type AudienceQuery,
  audienceIndexName,
  createAudienceIndex,
  createSearchAdapter,
  type PageOptions,
  type SearchAdapter,
} from '../../pipeline/audience-index/index.ts';
import { pause } from '../../pipeline/concurrency/index.ts';
import type { Pacer } from '../../pipeline/concurrency/pacer.ts';
import type { Config } from '../../pipeline/config/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { apnsDevice, change, changesOf, type FixtureUser, population, snapshotOf, webPushDevice } from './fixtures.ts';

/**
 * The audience index's behaviour, run against a real engine. The OpenSearch file runs it always; the
 * Elasticsearch file runs the very same tests when a real Elasticsearch is configured.
 */
export function audienceIndexSuite(makeConfig: () => Config): void {
  const USERS = 100;
  const PAGE = 7;
  let config: Config;
  let index: AudienceIndex;
  let pits: { opened: string[]; closed: string[] };
  const users = population(USERS);

  beforeAll(async () => {
    config = makeConfig();
    pits = { opened: [], closed: [] };
    index = createAudienceIndex(config, { adapter: recordingPits(config, pits) });
    await index.ensureIndex();
    // Half the users arrive as snapshots (reindex, upsert), half as change streams (the audience stage).
    const at = Date.now() - 60_000;
    await index.upsertMany(users.slice(0, USERS / 2).map((user) => snapshotOf(user, at)));
    await index.applyChanges(users.slice(USERS / 2).flatMap((user) => changesOf(user, at)));
    await index.refresh();
  });

  afterAll(async () => {
    if (!index) return;
    for (const target of await index.adapter.aliasTargets(index.alias)) await index.adapter.deleteIndex(target);
    await index.close();
  });

  async function collect(query: AudienceQuery, options: Partial<PageOptions> = {}) {
    const pages: AudienceDoc[][] = [];
    for await (const page of index.pages(query, { pageSize: PAGE, ...options })) pages.push(page);
    return { pages, uids: pages.flat().map((doc) => doc.uid) };
  }

  const uidsOf = (predicate: (user: FixtureUser) => boolean) =>
    users
      .filter(predicate)
      .map((user) => user.uid)
      .sort();

  it('creates a versioned index behind an alias with explicit, strict mappings', async () => {
    expect(await index.adapter.aliasTargets(index.alias)).toEqual([audienceIndexName(config)]);
    const mappings = await index.adapter.getMapping(audienceIndexName(config));
    expect(mappings.dynamic).toBe('strict');
    const properties = mappings.properties as Record<string, { type?: string }>;
    expect(properties.uid?.type).toBe('keyword');
    expect(properties.tids?.type).toBe('keyword');
    expect(properties.splits?.type).toBe('nested');
    expect(properties.lastSeen?.type).toBe('date');

    const stray = index.adapter.indexDocument(audienceIndexName(config), 'stray', { uid: 'stray', nickname: 'x' });
    await expect(stray).rejects.toMatchObject({ code: 'SEARCH_REJECTED' });
    await expect(stray).rejects.toThrow(/strict_dynamic_mapping_exception/);

    // Running it again (every stage's setup does) changes nothing.
    await index.ensureIndex();
    expect(await index.adapter.aliasTargets(index.alias)).toEqual([audienceIndexName(config)]);
  });

  it('stores what fanout needs to deliver and hides its own bookkeeping', async () => {
    const user = users[4]!; // subscribed to nothing odd, has an apns device and a webpush subscription
    const doc = await index.get(user.uid);
    expect(doc).toMatchObject({
      uid: user.uid,
      tids: user.tids,
      cohorts: user.cohorts,
      locale: 'en-GB',
      devices: { ws: false, apns: user.devices.apns, webpush: user.devices.webpush },
      reachable: ['webpush', 'apns'],
      optedOut: false,
    });
    expect(doc).not.toHaveProperty('clocks');
    expect(doc).not.toHaveProperty('floor');
    expect((await index.get(users[10]!.uid))?.optedOut).toBe(true);

    const [page] = await allPages(index, { kind: 'uids', uids: [user.uid] });
    expect(page).toEqual([doc]);

    // Asked for one channel's devices, a lookup and a walk open only those and hand out no sealed value of the others.
    const [looked] = await allPages(index, { kind: 'uids', uids: [user.uid] }, { devicesOn: ['apns'] });
    expect(looked?.[0]?.devices).toMatchObject({ apns: user.devices.apns, webpush: [] });
    const walked = (await allPages(index, { kind: 'everyone' }, { devicesOn: ['apns'] })).flat();
    expect(walked.find((candidate) => candidate.uid === user.uid)?.devices).toMatchObject({
      apns: user.devices.apns,
      webpush: [],
    });
    expect(walked.every((candidate) => candidate.devices.webpush.length === 0)).toBe(true);

    // Sealed, as fanout asks: the devices as stored (no clear secret), which the delivery stage's secrets open.
    const [sealedPage] = await allPages(
      index,
      { kind: 'uids', uids: [user.uid] },
      { devicesOn: ['apns'], sealed: true },
    );
    const sealedApns = sealedPage?.[0]?.devices.apns ?? [];
    expect(sealedApns).toHaveLength(user.devices.apns.length);
    expect(sealedApns.every((device) => device.token?.startsWith('enc1.'))).toBe(true);
    expect(sealedPage?.[0]?.devices.webpush).toEqual([]);
    const secrets = createDeviceSecrets(config.devices.keys);
    expect(sealedApns.map((device) => secrets.open(user.uid, device))).toEqual(user.devices.apns);
  });

  it.each<[string, AudienceQuery, (user: FixtureUser) => boolean]>([
    ['everyone', { kind: 'everyone' }, () => true],
    ["a thread's subscribers", { kind: 'thread', tid: 'alpha' }, (u) => u.tids.includes('alpha')],
    ['a cohort', { kind: 'cohort', cohort: 'vip' }, (u) => u.cohorts.includes('vip')],
    [
      'an experiment split',
      { kind: 'split', experiment: 'e1', variant: 'a' },
      (u) => u.splits.some((s) => s.experiment === 'e1' && s.variant === 'a'),
    ],
    [
      'another experiment split',
      { kind: 'split', experiment: 'e2', variant: 'a' },
      (u) => u.splits.some((s) => s.experiment === 'e2' && s.variant === 'a'),
    ],
    [
      'a list of uids (with unknown ones and repeats)',
      { kind: 'uids', uids: ['nobody', ...users.filter((_, i) => i % 3 === 2).map((u) => u.uid), users[2]!.uid] },
      (u) => Number(u.uid.slice(5)) % 3 === 2,
    ],
  ])('pages %s in uid order over several pages', async (_name, query, predicate) => {
    const expected = uidsOf(predicate);
    expect(expected.length).toBeGreaterThan(PAGE);
    const { pages, uids } = await collect(query);
    expect(uids).toEqual(expected);
    expect(await index.count(query)).toBe(expected.length);
    expect(pages.length).toBe(Math.ceil(expected.length / PAGE));
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(PAGE);
  });

  it('finds a thread with a single subscriber and nobody for an unknown thread', async () => {
    expect((await collect({ kind: 'thread', tid: 'solo' })).uids).toEqual([users[7]!.uid]);
    expect((await collect({ kind: 'thread', tid: 'no-such-thread' })).pages).toEqual([]);
    expect((await collect({ kind: 'uids', uids: [] })).pages).toEqual([]);
  });

  it('filters by reachable channel and opt-out, and slices an audience into disjoint parts', async () => {
    expect((await collect({ kind: 'everyone' }, { reachableOn: ['webpush'] })).uids).toEqual(
      uidsOf((u) => u.devices.webpush.length > 0),
    );
    expect((await collect({ kind: 'thread', tid: 'alpha' }, { excludeOptedOut: true })).uids).toEqual(
      uidsOf((u) => u.tids.includes('alpha') && u.channels[0] !== '~'),
    );
    const slices = await Promise.all(
      [0, 1, 2].map(async (id) => (await collect({ kind: 'everyone' }, { slice: { id, max: 3 } })).uids),
    );
    for (const slice of slices) expect(slice.length).toBeGreaterThan(0);
    expect(slices.flat().sort()).toEqual(uidsOf(() => true));
  });

  it('closes the point in time when the consumer stops early or fails', async () => {
    const before = pits.opened.length;
    for await (const page of index.pages({ kind: 'everyone' }, { pageSize: PAGE })) {
      expect(page).toHaveLength(PAGE);
      break;
    }
    const failing = (async () => {
      for await (const _page of index.pages({ kind: 'everyone' }, { pageSize: PAGE })) throw new Error('consumer');
    })();
    await expect(failing).rejects.toThrow('consumer');
    const opened = pits.opened.slice(before);
    expect(opened).toHaveLength(2);
    expect(pits.closed).toEqual(expect.arrayContaining(opened));
    // And the server agrees: searching a closed point in time fails.
    for (const id of opened) {
      const search = index.adapter.search({
        pit: { id, keepAlive: '1m' },
        query: { match_all: {} },
        sort: [{ uid: 'asc' }],
        size: 1,
        searchAfter: undefined,
        source: false,
      });
      await expect(search).rejects.toBeInstanceOf(MsgxcError);
    }
  });

  it('asks for its point in time and every page through the pacer, only the pages as measured', async () => {
    const calls: string[] = [];
    const pacer: Pacer = {
      pauseMs: 0,
      pausedMs: 0,
      inFlightLimit: 1,
      run(call, options) {
        calls.push(options?.measured === false ? 'pit' : 'page');
        return call();
      },
      after() {
        // nothing to learn: this pacer only records what goes through run()
      },
    };
    const { pages, uids } = await collect({ kind: 'everyone' }, { pacer });
    expect(uids).toEqual(uidsOf(() => true));
    // One search per full page and one more that comes back short (or empty), after the one PIT.
    const searches = Math.floor(USERS / PAGE) + 1;
    expect(pages).toHaveLength(Math.ceil(USERS / PAGE));
    expect(calls).toEqual(['pit', ...Array.from({ length: searches }, () => 'page')]);
  });

  it('ends a walk aborted while it is paced, at once and with its point in time closed', async () => {
    const abort = new AbortController();
    let asked = 0;
    const pacer: Pacer = {
      pauseMs: 0,
      pausedMs: 0,
      inFlightLimit: 1,
      async run(call, options) {
        // The PIT and the first page go through; the second page waits, and the stage shuts down meanwhile.
        if (++asked === 3) {
          setTimeout(() => abort.abort(new Error('stage stopping')), 10);
          await pause(60_000, options?.signal);
        }
        return call();
      },
      after() {
        // Latencies do not matter here: the walk is cut short before its second page.
      },
    };
    const before = pits.opened.length;
    const started = performance.now();
    const walk = collect({ kind: 'everyone' }, { pacer, signal: abort.signal });
    await expect(walk).rejects.toThrow('stage stopping');
    expect(performance.now() - started).toBeLessThan(10_000);
    const opened = pits.opened.slice(before);
    expect(opened).toHaveLength(1);
    expect(pits.closed).toEqual(expect.arrayContaining(opened));
  });

  it('reads a uid list by id with the same filters, never opening a point in time for it', async () => {
    const wanted = users.filter((_, i) => i % 2 === 1).map((u) => u.uid);
    const before = pits.opened.length;
    const filtered = await collect(
      { kind: 'uids', uids: ['nobody', ...wanted] },
      { excludeOptedOut: true, reachableOn: ['webpush'] },
    );
    const expected = uidsOf((u) => wanted.includes(u.uid) && u.channels[0] !== '~' && u.devices.webpush.length > 0);
    expect(expected.length).toBeGreaterThan(PAGE);
    expect(filtered.uids).toEqual(expected);
    const halves = await Promise.all(
      [0, 1].map(async (id) => (await collect({ kind: 'uids', uids: wanted }, { slice: { id, max: 2 } })).uids),
    );
    expect(halves.flat().sort()).toEqual([...wanted].sort());
    expect(pits.opened.length).toBe(before);
    // A broadcast still pages under a point in time.
    await collect({ kind: 'everyone' });
    expect(pits.opened.length).toBe(before + 1);
  });

  it('applies every kind of change idempotently', async () => {
    const uid = 'idem-user';
    const at = Date.now();
    const changes = [
      change(uid, 'enlist_device', at, { device: apnsDevice('a1') }),
      change(uid, 'enlist_device', at, { device: webPushDevice('w1') }),
      change(uid, 'enlist_device', at, { device: { ...apnsDevice('ws'), channel: 'ws', token: null } }),
      change(uid, 'subscribe', at, { tid: 't-1' }),
      change(uid, 'preferences', at, { preferences: { tid: null, channels: ['apns', 'email'], optOut: false } }),
      change(uid, 'preferences', at, { preferences: { tid: 't-1', channels: [], optOut: true } }),
      change(uid, 'profile', at, { profile: { locale: 'de-DE', timeZone: 'Europe/Berlin', lastSeen: at } }),
      change(uid, 'cohort', at, { cohort: { name: 'c-1', member: true } }),
      change(uid, 'split', at, { split: { experimentId: 'x-1', variant: 'b' } }),
    ];
    expect(await index.applyChanges(changes)).toEqual({ applied: changes.length, unchanged: 0 });
    const once = await index.get(uid);
    expect(once).toMatchObject({
      devices: { ws: true, apns: [apnsDevice('a1')], webpush: [webPushDevice('w1')] },
      reachable: ['ws', 'webpush', 'apns'],
      tids: ['t-1'],
      channels: ['apns', 'email'],
      threadPreferences: [{ tid: 't-1', channels: ['~'] }],
      locale: 'de-DE',
      timeZone: 'Europe/Berlin',
      lastSeen: at,
      cohorts: ['c-1'],
      splits: [{ experiment: 'x-1', variant: 'b' }],
      updatedAt: at,
    });

    // Redelivered one by one and all together: nothing changes.
    for (const repeat of changes) expect(await index.applyChange(repeat)).toEqual({ applied: 0, unchanged: 1 });
    expect(await index.applyChanges(changes)).toEqual({ applied: 0, unchanged: changes.length });
    expect(await index.get(uid)).toEqual(once);

    // The reverse changes, also twice.
    const undo = [
      change(uid, 'remove_device', at + 1, { device: apnsDevice('a1') }),
      change(uid, 'unsubscribe', at + 1, { tid: 't-1' }),
      change(uid, 'cohort', at + 1, { cohort: { name: 'c-1', member: false } }),
      change(uid, 'split', at + 1, { split: { experimentId: 'x-1', variant: null } }),
      change(uid, 'preferences', at + 1, { preferences: { tid: 't-1', channels: [], optOut: false } }),
    ];
    expect(await index.applyChanges(undo)).toEqual({ applied: undo.length, unchanged: 0 });
    const undone = await index.get(uid);
    expect(await index.applyChanges(undo)).toEqual({ applied: 0, unchanged: undo.length });
    expect(await index.get(uid)).toEqual(undone);
    expect(undone).toMatchObject({ tids: [], cohorts: [], splits: [], threadPreferences: [], devices: { apns: [] } });
  });

  it('ignores a change older than what the document holds', async () => {
    const uid = 'late-user';
    const at = Date.now();
    await index.applyChanges([
      change(uid, 'subscribe', at, { tid: 'keep' }),
      change(uid, 'unsubscribe', at, { tid: 'gone' }),
    ]);
    // A retry delivers the older opposite changes after the newer ones.
    const late = [
      change(uid, 'unsubscribe', at - 5_000, { tid: 'keep' }),
      change(uid, 'subscribe', at - 5_000, { tid: 'gone' }),
    ];
    expect(await index.applyChanges(late)).toEqual({ applied: 0, unchanged: 2 });
    expect((await index.get(uid))?.tids).toEqual(['keep']);
  });

  it('upserts idempotently and keeps parts changed after the snapshot was read', async () => {
    const uid = 'snap-user';
    const at = Date.now() - 10_000;
    const snapshot = { uid, tids: ['s-1', 's-2'], devices: { apns: [apnsDevice('s')] }, updatedAt: at };
    expect(await index.upsertMany([snapshot])).toEqual({ applied: 1, unchanged: 0 });
    const first = await index.get(uid);
    expect(await index.upsertMany([snapshot])).toEqual({ applied: 0, unchanged: 1 });
    await index.upsert(snapshot);
    expect(await index.get(uid)).toEqual(first);

    // A live unsubscribe after the read, then a snapshot read before it: the unsubscribe wins.
    await index.applyChange(change(uid, 'unsubscribe', at + 5_000, { tid: 's-1' }));
    await index.upsert({ ...snapshot, tids: ['s-1', 's-2', 's-3'], updatedAt: at + 1_000 });
    expect((await index.get(uid))?.tids.sort()).toEqual(['s-2', 's-3']);
    // A newer snapshot is the truth.
    await index.upsert({ ...snapshot, tids: ['s-1'], updatedAt: at + 9_000 });
    expect((await index.get(uid))?.tids).toEqual(['s-1']);
  });

  it('removes idempotently and keeps removed users out of every audience', async () => {
    const uid = 'gone-user';
    const at = Date.now() - 1_000;
    await index.applyChange(change(uid, 'subscribe', at, { tid: 'farewell' }));
    await index.refresh();
    expect((await collect({ kind: 'thread', tid: 'farewell' })).uids).toEqual([uid]);

    await index.remove(uid, at + 10);
    await index.remove(uid, at + 10);
    expect(await index.applyChange(change(uid, 'delete_user', at + 10))).toEqual({ applied: 0, unchanged: 1 });
    // A change made before the deletion and delivered after it does not bring the user back.
    expect(await index.applyChange(change(uid, 'subscribe', at + 5, { tid: 'farewell' }))).toEqual({
      applied: 0,
      unchanged: 1,
    });
    await index.refresh();
    expect(await index.get(uid)).toBeUndefined();
    expect((await collect({ kind: 'thread', tid: 'farewell' })).pages).toEqual([]);
    expect((await collect({ kind: 'uids', uids: [uid] })).pages).toEqual([]);

    // The user signs up again later.
    await index.applyChange(change(uid, 'subscribe', at + 20, { tid: 'farewell' }));
    expect((await index.get(uid))?.tids).toEqual(['farewell']);
  });

  it('refuses malformed changes as permanent errors', async () => {
    const bad = change('someone', 'subscribe', Date.now());
    await expect(index.applyChange(bad)).rejects.toMatchObject({ code: 'INVALID_AUDIENCE_CHANGE', retriable: false });
  });
}

async function allPages(
  index: AudienceIndex,
  query: AudienceQuery,
  options: Omit<PageOptions, 'pageSize'> = {},
): Promise<AudienceDoc[][]> {
  const pages: AudienceDoc[][] = [];
  for await (const page of index.pages(query, { pageSize: 10, ...options })) pages.push(page);
  return pages;
}

/** The configured adapter, noting which points in time it opened and closed. */
function recordingPits(config: Config, pits: { opened: string[]; closed: string[] }): SearchAdapter {
  const inner = createSearchAdapter(config);
  return {
    ...inner,
    async openPit(index, keepAlive) {
      const id = await inner.openPit(index, keepAlive);
      pits.opened.push(id);
      return id;
    },
    async closePit(id) {
      await inner.closePit(id);
      pits.closed.push(id);
    },
  };
}
