import { randomUUID } from 'node:crypto';
import type { Client } from 'cassandra-driver';
import { MsgxcError } from '../errors/index.ts';
import { bindTo, execute, idempotent, type Row } from './shared.ts';
import { threadColumns, threadValues, toThread } from './thread-rows.ts';
import { isSubscribed, subscribe, subscribersPage, subscriptionsOf, unsubscribe } from './thread-subscriptions.ts';
import { checkThreadFields, type NewThread, type Thread, type ThreadPatch } from './thread-types.ts';

export { SUBSCRIBER_BUCKETS } from './thread-subscriptions.ts';
export * from './thread-types.ts';

export type ThreadStore = ReturnType<typeof createThreadStore>;

/** Threads (rules, defaults, experiment), aliases, and subscriptions in both directions. */
export function createThreadStore(client: Client) {
  const bound = bindTo(client);
  return {
    getThread: bound(getThread),
    isSubscribed: bound(isSubscribed),
    getThreadByAlias: bound(getThreadByAlias),
    createThread: bound(createThread),
    updateThread: bound(updateThread),
    subscribe: bound(subscribe),
    unsubscribe: bound(unsubscribe),
    subscribersPage: bound(subscribersPage),
    subscriptionsOf: bound(subscriptionsOf),
  };
}

async function getThread(client: Client, tid: string): Promise<Thread | null> {
  const result = await execute(client, `SELECT ${threadColumns} FROM threads WHERE tid = ?`, [tid], 'read a thread');
  const row = result.rows[0];
  return row ? toThread(row) : null;
}

/** The thread an alias names, or null. */
async function getThreadByAlias(client: Client, alias: string): Promise<Thread | null> {
  const result = await execute(client, 'SELECT tid FROM thread_by_alias WHERE alias = ?', [alias], 'read an alias');
  const tid = result.rows[0]?.get('tid') as string | undefined;
  const thread = tid === undefined ? null : await getThread(client, tid);
  // An alias row can outlive a rename that died halfway; the thread row is the truth.
  return thread?.alias === alias ? thread : null;
}

/** Takes an alias for a thread with an LWT; the same thread taking it again is fine. */
async function claimAlias(client: Client, alias: string, tid: string, at: Date): Promise<void> {
  const result = await execute(
    client,
    'INSERT INTO thread_by_alias (alias, tid, claimed_at) VALUES (?, ?, ?) IF NOT EXISTS',
    [alias, tid, at],
    'claim a thread alias',
  );
  if (!result.wasApplied() && result.rows[0]?.get('tid') !== tid) {
    throw new MsgxcError('ALIAS_TAKEN', `the alias ${JSON.stringify(alias)} belongs to another thread`, {
      status: 409,
    });
  }
}

async function releaseAlias(client: Client, alias: string, tid: string): Promise<void> {
  await execute(client, 'DELETE FROM thread_by_alias WHERE alias = ? IF tid = ?', [alias, tid], 'release an alias');
}

/** Creates a thread; throws ALIAS_TAKEN or THREAD_EXISTS (409). */
async function createThread(client: Client, input: NewThread, at = new Date()): Promise<Thread> {
  checkThreadFields(input);
  const tid = input.tid ?? randomUUID();
  const alias = input.alias ?? null;
  if (alias !== null) await claimAlias(client, alias, tid, at);
  const values = threadValues({ ...input, alias });
  const columns = ['tid', 'owner', 'created_at', 'updated_at', ...Object.keys(values)];
  const result = await execute(
    client,
    `INSERT INTO threads (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) IF NOT EXISTS`,
    [tid, input.owner, at, at, ...Object.values(values)],
    'create a thread',
  );
  if (!result.wasApplied()) {
    const existing = toThread(result.rows[0] as Row);
    if (alias !== null && existing.alias !== alias) await releaseAlias(client, alias, tid);
    throw new MsgxcError('THREAD_EXISTS', `thread ${tid} exists already`, { status: 409 });
  }
  return (await getThread(client, tid)) as Thread;
}

/** Changes the given fields only; throws THREAD_NOT_FOUND (404) or ALIAS_TAKEN (409). */
async function updateThread(client: Client, tid: string, patch: ThreadPatch, at = new Date()): Promise<Thread> {
  checkThreadFields(patch);
  const current = await getThread(client, tid);
  if (!current) throw new MsgxcError('THREAD_NOT_FOUND', `no thread ${tid}`, { status: 404 });
  const aliasChanges = patch.alias !== undefined && patch.alias !== current.alias;
  if (aliasChanges && patch.alias) await claimAlias(client, patch.alias, tid, at);
  const values: Record<string, unknown> = { ...threadValues(patch), updated_at: at };
  if (patch.owner !== undefined) values.owner = patch.owner;
  await execute(
    client,
    `UPDATE threads SET ${Object.keys(values)
      .map((column) => `${column} = ?`)
      .join(', ')} WHERE tid = ?`,
    [...Object.values(values), tid],
    'update a thread',
    idempotent,
  );
  if (aliasChanges && current.alias) await releaseAlias(client, current.alias, tid);
  return (await getThread(client, tid)) as Thread;
}
