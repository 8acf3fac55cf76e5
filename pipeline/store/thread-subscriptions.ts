import type { Client } from 'cassandra-driver';
import { batch, bucketOf, decodeCursor, encodeCursor, execute } from './shared.ts';
import type { Subscriber, Subscription } from './thread-types.ts';

/**
 * A thread's subscribers are spread over this many partitions (see 002_threads.cql). Changing it
 * re-homes every subscriber, so it is a constant of the schema, not a setting.
 */
export const SUBSCRIBER_BUCKETS = 16;

export async function isSubscribed(client: Client, tid: string, uid: string): Promise<boolean> {
  const result = await execute(
    client,
    'SELECT uid FROM thread_subscribers WHERE tid = ? AND bucket = ? AND uid = ?',
    [tid, bucketOf(uid, SUBSCRIBER_BUCKETS), uid],
    'read a subscription',
  );
  return result.rowLength > 0;
}

/** Subscribes a user; returns false when they were subscribed already (nothing is written). */
export async function subscribe(client: Client, tid: string, uid: string, at = new Date()): Promise<boolean> {
  if (await isSubscribed(client, tid, uid)) return false;
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
}

/** Unsubscribes a user; returns whether they were subscribed. */
export async function unsubscribe(client: Client, tid: string, uid: string): Promise<boolean> {
  const was = await isSubscribed(client, tid, uid);
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
}

/**
 * One page of a thread's subscribers (bucket by bucket, uid order within a bucket). Pass the
 * returned `next` to get the following page; it is null after the last one.
 */
export async function subscribersPage(
  client: Client,
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
}

/** The threads a user is subscribed to (bounded: one partition per user). */
export async function subscriptionsOf(client: Client, uid: string): Promise<Subscription[]> {
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
}
