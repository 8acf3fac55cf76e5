import type { Client } from 'cassandra-driver';
import { bindTo, checkChannelList, date, execute, idempotent, list, NOTHING, type Row } from './shared.ts';
import { createDeviceMethods } from './user-devices.ts';
import type { ChannelPreference, Preferences, ProfilePatch, UserProfile } from './user-types.ts';

export * from './user-types.ts';

export interface UserStoreOptions {
  /** Devices kept per user and channel; enlisting one more drops the oldest (bounds the partition). */
  maxDevicesPerChannel?: number;
}

/** The preference scope of a user's global preference; any other scope is a thread id. */
const GLOBAL = '*';
const profileColumns = 'uid, locale, time_zone, cohorts, created_at, updated_at, last_seen_at';

export type UserStore = ReturnType<typeof createUserStore>;

/** Users, their devices (newest first per channel), channel preferences and experiment variants. */
export function createUserStore(client: Client, options: UserStoreOptions = {}) {
  const bound = bindTo(client);
  return {
    getUser: bound(getUser),
    ensureUser: bound(ensureUser),
    upsertUser: bound(upsertUser),
    touchUser: bound(touchUser),
    usersPage: bound(usersPage),
    setPreferences: bound(setPreferences),
    preferencesOf: bound(preferencesOf),
    recordVariant: bound(recordVariant),
    variantsOf: bound(variantsOf),
    ...createDeviceMethods(client, options.maxDevicesPerChannel ?? 10, bound(ensureUser)),
  };
}

async function getUser(client: Client, uid: string): Promise<UserProfile | null> {
  const result = await execute(client, `SELECT ${profileColumns} FROM users WHERE uid = ?`, [uid], 'read a user');
  const row = result.rows[0];
  return row ? toProfile(row) : null;
}

/**
 * Creates the user when missing: one read, and an LWT only the first time, so `created_at` is
 * set once. (A subscription may have created the bare row already; it has no created_at yet.)
 */
async function ensureUser(client: Client, uid: string, at = new Date()): Promise<boolean> {
  if ((await getUser(client, uid))?.createdAt) return false;
  const result = await execute(
    client,
    'UPDATE users SET created_at = ?, updated_at = ? WHERE uid = ? IF created_at = null',
    [at, at, uid],
    'create a user',
  );
  return result.wasApplied();
}

/** Sets the given profile fields (creating the user when missing). */
async function upsertUser(client: Client, uid: string, patch: ProfilePatch, at = new Date()): Promise<void> {
  await ensureUser(client, uid, at);
  // Only the given fields are written, so concurrent patches of different fields both survive.
  const candidates: [string, unknown][] = [
    ['updated_at', at],
    ['locale', patch.locale],
    ['time_zone', patch.timeZone],
    ['cohorts', patch.cohorts],
  ];
  const fields = candidates.filter(([, value]) => value !== undefined);
  await execute(
    client,
    `UPDATE users SET ${fields.map(([column]) => `${column} = ?`).join(', ')} WHERE uid = ?`,
    [...fields.map(([, value]) => value), uid],
    'update a user',
    idempotent,
  );
}

/** Records activity; the write's timestamp is the activity time, so an older touch never wins. */
async function touchUser(client: Client, uid: string, at = new Date()): Promise<void> {
  await execute(
    client,
    'UPDATE users USING TIMESTAMP ? SET last_seen_at = ? WHERE uid = ?',
    [at.getTime() * 1000, at, uid],
    'record when a user was last seen',
    idempotent,
  );
}

/** Every user, a page at a time in token order (for `msgxc reindex`); `next` is null at the end. */
async function usersPage(
  client: Client,
  cursor: string | null,
  pageSize = 500,
): Promise<{ users: UserProfile[]; next: string | null }> {
  const result = await execute(client, `SELECT ${profileColumns} FROM users`, [], 'scan users', {
    fetchSize: pageSize,
    ...(cursor ? { pageState: cursor } : {}),
  });
  return { users: result.rows.map(toProfile), next: result.pageState ?? null };
}

/** Sets (or with null / [], clears) the user's global preference, or the one for a thread. */
async function setPreferences(
  client: Client,
  uid: string,
  channels: readonly string[] | null,
  tid?: string,
  at = new Date(),
): Promise<void> {
  const scope = tid ?? GLOBAL;
  await ensureUser(client, uid, at);
  if (channels === null || channels.length === 0) {
    await execute(
      client,
      'DELETE FROM preferences_by_user WHERE uid = ? AND scope = ?',
      [uid, scope],
      'clear preferences',
      idempotent,
    );
    return;
  }
  await execute(
    client,
    'INSERT INTO preferences_by_user (uid, scope, channels, updated_at) VALUES (?, ?, ?, ?)',
    [uid, scope, checkChannelList(channels, 'preferences'), at],
    'set preferences',
    idempotent,
  );
}

async function preferencesOf(client: Client, uid: string): Promise<Preferences> {
  const result = await execute(
    client,
    'SELECT scope, channels FROM preferences_by_user WHERE uid = ?',
    [uid],
    'read preferences',
  );
  const preferences: Preferences = { global: null, threads: {} };
  for (const row of result.rows) {
    const channels = list(row, 'channels') as ChannelPreference;
    if (row.get('scope') === GLOBAL) preferences.global = channels;
    else preferences.threads[row.get('scope') as string] = channels;
  }
  return preferences;
}

/** Records a user's variant of an experiment (assignment is deterministic, so repeating is harmless). */
async function recordVariant(
  client: Client,
  uid: string,
  experimentId: string,
  variant: string,
  at = new Date(),
): Promise<void> {
  await execute(
    client,
    'INSERT INTO user_experiments (uid, experiment_id, variant, assigned_at) VALUES (?, ?, ?, ?)',
    [uid, experimentId, variant, at],
    'record an experiment variant',
    idempotent,
  );
}

/** experiment id -> variant. */
async function variantsOf(client: Client, uid: string): Promise<Record<string, string>> {
  const result = await execute(
    client,
    'SELECT experiment_id, variant FROM user_experiments WHERE uid = ?',
    [uid],
    'read experiment variants',
  );
  return Object.fromEntries(result.rows.map((row) => [row.get('experiment_id'), row.get('variant')]));
}

/** True for the `["~"]` preference: send nothing. */
export const isOptedOut = (preference: ChannelPreference | null): boolean =>
  preference?.length === 1 && preference[0] === NOTHING;

function toProfile(row: Row): UserProfile {
  return {
    uid: row.get('uid') as string,
    locale: (row.get('locale') as string | null) ?? null,
    timeZone: (row.get('time_zone') as string | null) ?? null,
    cohorts: list(row, 'cohorts'),
    createdAt: date(row, 'created_at'),
    updatedAt: date(row, 'updated_at'),
    lastSeenAt: date(row, 'last_seen_at'),
  };
}
