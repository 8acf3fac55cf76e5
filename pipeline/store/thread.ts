import { randomUUID } from 'node:crypto';
import type { Client } from 'cassandra-driver';
import { MsgxcError } from '../errors/index.ts';
import {
  batch,
  bucketOf,
  type Channel,
  date,
  decodeCursor,
  encodeCursor,
  execute,
  idempotent,
  list,
  type Row,
  text,
} from './shared.ts';
import {
  checkThreadFields,
  completeExperiment,
  type Experiment,
  type ExperimentVariant,
  type NewThread,
  type Subscriber,
  type Subscription,
  type Thread,
  type ThreadPatch,
} from './thread-types.ts';

export * from './thread-types.ts';

/**
 * A thread's subscribers are spread over this many partitions (see 002_threads.cql). Changing it
 * re-homes every subscriber, so it is a constant of the schema, not a setting.
 */
export const SUBSCRIBER_BUCKETS = 16;

const threadColumns =
  'tid, name, alias, owner, admins, publishers, open_subscribe, open_publish, channel_types, urgency, ' +
  'experiment_id, experiment_variants, created_at, updated_at';

export type ThreadStore = ReturnType<typeof createThreadStore>;

/** Threads (rules, defaults, experiment), aliases, and subscriptions in both directions. */
export function createThreadStore(client: Client) {
  async function getThread(tid: string): Promise<Thread | null> {
    const result = await execute(client, `SELECT ${threadColumns} FROM threads WHERE tid = ?`, [tid], 'read a thread');
    const row = result.rows[0];
    return row ? toThread(row) : null;
  }

  /** Takes an alias for a thread with an LWT; the same thread taking it again is fine. */
  async function claimAlias(alias: string, tid: string, at: Date): Promise<void> {
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

  async function releaseAlias(alias: string, tid: string): Promise<void> {
    await execute(client, 'DELETE FROM thread_by_alias WHERE alias = ? IF tid = ?', [alias, tid], 'release an alias');
  }

  async function isSubscribed(tid: string, uid: string): Promise<boolean> {
    const result = await execute(
      client,
      'SELECT uid FROM thread_subscribers WHERE tid = ? AND bucket = ? AND uid = ?',
      [tid, bucketOf(uid, SUBSCRIBER_BUCKETS), uid],
      'read a subscription',
    );
    return result.rowLength > 0;
  }

  return {
    getThread,
    isSubscribed,

    /** The thread an alias names, or null. */
    async getThreadByAlias(alias: string): Promise<Thread | null> {
      const result = await execute(client, 'SELECT tid FROM thread_by_alias WHERE alias = ?', [alias], 'read an alias');
      const tid = result.rows[0]?.get('tid') as string | undefined;
      const thread = tid === undefined ? null : await getThread(tid);
      // An alias row can outlive a rename that died halfway; the thread row is the truth.
      return thread?.alias === alias ? thread : null;
    },

    /** Creates a thread; throws ALIAS_TAKEN or THREAD_EXISTS (409). */
    async createThread(input: NewThread, at = new Date()): Promise<Thread> {
      checkThreadFields(input);
      const tid = input.tid ?? randomUUID();
      const alias = input.alias ?? null;
      if (alias !== null) await claimAlias(alias, tid, at);
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
        if (alias !== null && existing.alias !== alias) await releaseAlias(alias, tid);
        throw new MsgxcError('THREAD_EXISTS', `thread ${tid} exists already`, { status: 409 });
      }
      return (await getThread(tid)) as Thread;
    },

    /** Changes the given fields only; throws THREAD_NOT_FOUND (404) or ALIAS_TAKEN (409). */
    async updateThread(tid: string, patch: ThreadPatch, at = new Date()): Promise<Thread> {
      checkThreadFields(patch);
      const current = await getThread(tid);
      if (!current) throw new MsgxcError('THREAD_NOT_FOUND', `no thread ${tid}`, { status: 404 });
      const aliasChanges = patch.alias !== undefined && patch.alias !== current.alias;
      if (aliasChanges && patch.alias) await claimAlias(patch.alias, tid, at);
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
      if (aliasChanges && current.alias) await releaseAlias(current.alias, tid);
      return (await getThread(tid)) as Thread;
    },

    /** Subscribes a user; returns false when they were subscribed already (nothing is written). */
    async subscribe(tid: string, uid: string, at = new Date()): Promise<boolean> {
      if (await isSubscribed(tid, uid)) return false;
      await batch(
        client,
        [
          {
            query: 'INSERT INTO thread_subscribers (tid, bucket, uid, subscribed_at) VALUES (?, ?, ?, ?)',
            params: [tid, bucketOf(uid, SUBSCRIBER_BUCKETS), uid, at],
          },
          {
            query: 'INSERT INTO user_subscriptions (uid, tid, subscribed_at) VALUES (?, ?, ?)',
            params: [uid, tid, at],
          },
          // Makes sure the subscriber has a users row (the reindex scans that table); idempotent.
          { query: 'INSERT INTO users (uid) VALUES (?)', params: [uid] },
        ],
        'subscribe',
      );
      return true;
    },

    /** Unsubscribes a user; returns whether they were subscribed. */
    async unsubscribe(tid: string, uid: string): Promise<boolean> {
      const was = await isSubscribed(tid, uid);
      await batch(
        client,
        [
          {
            query: 'DELETE FROM thread_subscribers WHERE tid = ? AND bucket = ? AND uid = ?',
            params: [tid, bucketOf(uid, SUBSCRIBER_BUCKETS), uid],
          },
          { query: 'DELETE FROM user_subscriptions WHERE uid = ? AND tid = ?', params: [uid, tid] },
        ],
        'unsubscribe',
      );
      return was;
    },

    /**
     * One page of a thread's subscribers (bucket by bucket, uid order within a bucket). Pass the
     * returned `next` to get the following page; it is null after the last one.
     */
    async subscribersPage(
      tid: string,
      cursor: string | null,
      pageSize = 500,
    ): Promise<{ subscribers: Subscriber[]; next: string | null }> {
      let { bucket, pageState } = decodeCursor(cursor, SUBSCRIBER_BUCKETS);
      const subscribers: Subscriber[] = [];
      while (bucket < SUBSCRIBER_BUCKETS && subscribers.length < pageSize) {
        const result = await execute(
          client,
          'SELECT uid, subscribed_at FROM thread_subscribers WHERE tid = ? AND bucket = ?',
          [tid, bucket],
          'page subscribers',
          { fetchSize: pageSize - subscribers.length, ...(pageState ? { pageState } : {}) },
        );
        for (const row of result.rows) {
          subscribers.push({ uid: row.get('uid') as string, subscribedAt: row.get('subscribed_at') as Date });
        }
        if (result.pageState) {
          pageState = result.pageState;
        } else {
          bucket += 1;
          pageState = undefined;
        }
      }
      return { subscribers, next: bucket < SUBSCRIBER_BUCKETS ? encodeCursor(bucket, pageState ?? null) : null };
    },

    /** The threads a user is subscribed to (bounded: one partition per user). */
    async subscriptionsOf(uid: string): Promise<Subscription[]> {
      const result = await execute(
        client,
        'SELECT tid, subscribed_at FROM user_subscriptions WHERE uid = ?',
        [uid],
        'read subscriptions',
      );
      return result.rows.map((row) => ({
        tid: row.get('tid') as string,
        subscribedAt: row.get('subscribed_at') as Date,
      }));
    },
  };
}

/** Column values for the fields present in `fields` (absent fields are not written). */
function threadValues(fields: ThreadPatch): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (fields.name !== undefined) values.name = fields.name;
  if (fields.alias !== undefined) values.alias = fields.alias;
  if (fields.admins !== undefined) values.admins = fields.admins;
  if (fields.publishers !== undefined) values.publishers = fields.publishers;
  if (fields.openSubscribe !== undefined) values.open_subscribe = fields.openSubscribe;
  if (fields.openPublish !== undefined) values.open_publish = fields.openPublish;
  if (fields.channelTypes !== undefined) values.channel_types = fields.channelTypes;
  if (fields.urgency !== undefined) values.urgency = fields.urgency;
  if (fields.experiment !== undefined) {
    values.experiment_id = fields.experiment?.id ?? null;
    values.experiment_variants = fields.experiment ? completeExperiment(fields.experiment).variants : null;
  }
  return values;
}

function toThread(row: Row): Thread {
  const experimentId = text(row, 'experiment_id');
  const variants = (row.get('experiment_variants') as Record<string, unknown>[] | null) ?? [];
  const experiment: Experiment | null =
    experimentId === null
      ? null
      : {
          id: experimentId,
          variants: variants.map(
            (variant): ExperimentVariant => ({
              name: variant.name as string,
              weight: variant.weight as number,
              uids: (variant.uids as string[] | null) ?? null,
              subject: (variant.subject as string | null) ?? null,
              msg: (variant.msg as string | null) ?? null,
              channels: (variant.channels as Channel[] | null) ?? null,
            }),
          ),
        };
  return {
    tid: row.get('tid') as string,
    name: text(row, 'name'),
    alias: text(row, 'alias'),
    owner: row.get('owner') as string,
    admins: list(row, 'admins'),
    publishers: list(row, 'publishers'),
    openSubscribe: (row.get('open_subscribe') as boolean | null) ?? false,
    openPublish: (row.get('open_publish') as boolean | null) ?? false,
    channelTypes: list(row, 'channel_types') as Channel[],
    urgency: (row.get('urgency') as number | null) ?? null,
    experiment,
    createdAt: date(row, 'created_at') as Date,
    updatedAt: date(row, 'updated_at') as Date,
  };
}
