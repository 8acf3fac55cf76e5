import { errors } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { cassandraError, isCassandraUnavailable } from './errors.ts';

/** The driver's typings mark DriverError abstract; the driver itself constructs it directly. */
const DriverError = errors.DriverError as unknown as new (message: string) => errors.DriverError;

/** Built as cassandra-driver 4 builds it (lib/connection.js clearAndInvokePending, lib/writers.js setWriteError). */
function socketClosed(options: { notWritten?: boolean } = {}): errors.DriverError {
  const error = Object.assign(new DriverError('Socket was closed'), {
    isSocketError: true,
    innerError: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
  });
  if (options.notWritten) Object.assign(error, { requestNotWritten: true });
  return error;
}

describe('isCassandraUnavailable', () => {
  it('counts a connection dropped under a request as unavailable', () => {
    expect(isCassandraUnavailable(socketClosed())).toBe(true);
    expect(isCassandraUnavailable(socketClosed({ notWritten: true }))).toBe(true);
    expect(isCassandraUnavailable(new DriverError('Connection timeout'))).toBe(true);
  });

  it('keeps the outages it knew and the errors that are bugs', () => {
    expect(isCassandraUnavailable(new errors.NoHostAvailableError({}))).toBe(true);
    expect(isCassandraUnavailable(new errors.OperationTimedOutError('timed out'))).toBe(true);
    expect(isCassandraUnavailable(new errors.ResponseError(0x1100, 'write timeout'))).toBe(true);
    expect(isCassandraUnavailable(new errors.ResponseError(0x2000, 'syntax error'))).toBe(false);
    expect(isCassandraUnavailable(new errors.ResponseError(0x2200, 'invalid query'))).toBe(false);
    expect(isCassandraUnavailable(new errors.ArgumentError('bad parameter'))).toBe(false);
    expect(isCassandraUnavailable(new errors.DriverInternalError('state lost'))).toBe(false);
    // Only the driver's own flag counts, not a message that happens to match.
    expect(isCassandraUnavailable(new DriverError('There was already state for this frame'))).toBe(false);
    expect(isCassandraUnavailable(new Error('Socket was closed'))).toBe(false);
  });
});

describe('cassandraError', () => {
  it('makes a dropped connection a retriable 503 and a refused query a permanent 500', () => {
    expect(cassandraError(socketClosed(), 'read a thread')).toMatchObject({
      code: 'CASSANDRA_UNAVAILABLE',
      retriable: true,
      status: 503,
    });
    expect(cassandraError(new errors.ResponseError(0x2200, 'invalid query'), 'read a thread')).toMatchObject({
      code: 'CASSANDRA_QUERY_FAILED',
      retriable: false,
      status: 500,
    });
  });
});
