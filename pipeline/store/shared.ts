import type { Client, QueryOptions, types } from 'cassandra-driver';
import { type Channel, ChannelSymbols } from '../../schemas/types.generated.ts';
import { cassandraError } from '../cassandra/index.ts';
import { MsgxcError } from '../errors/index.ts';

/** The delivery channels: the Avro `dev.msgxc.Channel` symbols. */
export const CHANNELS = ChannelSymbols;
export type { Channel };

/** A channel preference holding only this means "send me nothing". */
export const NOTHING = '~';

export type Row = types.Row;
export interface Statement {
  query: string;
  params: unknown[];
}

/**
 * Runs one statement (prepared: the client's default) and turns driver failures into MsgxcError:
 * CASSANDRA_UNAVAILABLE (retriable, 503) or CASSANDRA_QUERY_FAILED. `what` completes
 * "Cassandra could not …" in the message; bound values never appear in it.
 */
export async function execute(
  client: Client,
  query: string,
  params: unknown[],
  what: string,
  options?: QueryOptions,
): Promise<types.ResultSet> {
  try {
    return await client.execute(query, params, options);
  } catch (error) {
    throw cassandraError(error, what);
  }
}

/** Upserts whose repetition is harmless: the driver may retry them on another host after a timeout. */
export const idempotent: QueryOptions = { isIdempotent: true };

/**
 * A logged batch: the statements (usually one entity written to several query tables) are applied
 * all or none, eventually. Not for bulk loading. `counter` makes it a counter batch (not idempotent);
 * `unlogged` skips the batch log, for statements of one partition (applied as one mutation anyway).
 */
export async function batch(
  client: Client,
  statements: Statement[],
  what: string,
  options: { counter?: boolean; unlogged?: boolean } = {},
): Promise<void> {
  if (statements.length === 0) return;
  const counter = options.counter === true;
  const logged = !counter && options.unlogged !== true;
  try {
    await client.batch(statements, { prepare: true, logged, counter, isIdempotent: !counter });
  } catch (error) {
    throw cassandraError(error, what);
  }
}

/**
 * A stable bucket for a key (FNV-1a, 32 bit): spreads a thread's subscribers or a message's
 * recipients over a fixed number of partitions, while a single key's bucket is computed, not looked up.
 */
export function bucketOf(key: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % buckets;
}

/**
 * An opaque page cursor across bucketed partitions: which bucket comes next and the driver's
 * paging state inside it. Clients get it as a base64url string and hand it back unchanged.
 */
export function encodeCursor(bucket: number, pageState: string | null): string {
  return Buffer.from(`${bucket}.${pageState ?? ''}`).toString('base64url');
}

export function decodeCursor(
  cursor: string | null | undefined,
  buckets: number,
): { bucket: number; pageState?: string } {
  if (cursor === null || cursor === undefined || cursor === '') return { bucket: 0 };
  const match = /^(\d{1,5})\.([0-9a-f]*)$/.exec(Buffer.from(cursor, 'base64url').toString());
  const bucket = Number(match?.[1]);
  if (!match || bucket >= buckets) {
    throw new MsgxcError('INVALID_PAGE_STATE', 'the page cursor is not one this API returned', { status: 400 });
  }
  return match[2] ? { bucket, pageState: match[2] } : { bucket };
}

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** Checks a channel preference list: known channels in order, or exactly `["~"]`. */
export function checkChannelList(channels: readonly string[], what: string): Channel[] | ['~'] {
  if (channels.length === 1 && channels[0] === NOTHING) return [NOTHING];
  const unknown = channels.filter((channel) => !isChannel(channel));
  if (unknown.length > 0 || new Set(channels).size !== channels.length) {
    throw new MsgxcError(
      'INVALID_CHANNELS',
      `${what} must be distinct channels among ${CHANNELS.join(', ')}, or ["~"] alone for nothing`,
      { status: 400, details: { unknown } },
    );
  }
  return channels as Channel[];
}

export const text = (row: Row, column: string): string | null => (row.get(column) as string | null) ?? null;
export const date = (row: Row, column: string): Date | null => (row.get(column) as Date | null) ?? null;
export const list = (row: Row, column: string): string[] => (row.get(column) as string[] | null) ?? [];

/** A store function with its first argument (the store's context) supplied. */
export type BoundTo<C, F> = F extends (context: C, ...args: infer A) => infer R ? (...args: A) => R : never;

/** Store methods are plain functions of a context; a factory binds them to its context once. */
export function bindTo<C>(context: C) {
  // biome-ignore lint/suspicious/noExplicitAny: any function whose first argument is the context
  return <F extends (context: C, ...args: any[]) => unknown>(fn: F): BoundTo<C, F> =>
    ((...args: unknown[]) => fn(context, ...args)) as BoundTo<C, F>;
}
