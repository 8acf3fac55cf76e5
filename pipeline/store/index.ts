/**
 * The Cassandra stores, one per aggregate, each a small factory over a client from
 * `createCassandra(config)`. Tables and the queries they serve: pipeline/cassandra/README.md.
 */
export * from './dedup.ts';
export * from './idempotency.ts';
export * from './inbox.ts';
export * from './message.ts';
export * from './schedule.ts';
export * from './session.ts';
export {
  bucketOf,
  CHANNELS,
  type Channel,
  checkChannelList,
  decodeCursor,
  encodeCursor,
  isChannel,
  NOTHING,
} from './shared.ts';
export * from './thread.ts';
export * from './user.ts';
