import { errors } from 'cassandra-driver';
import { MsgxcError } from '../errors/index.ts';

/**
 * Cassandra's answers that another try (later, or on another coordinator) can turn into a success:
 * unavailable replicas, overload, timeouts, failed reads/writes and an LWT whose outcome is unknown.
 * Everything else (syntax, invalid query, unauthorised) is a bug or a misconfiguration.
 */
const retriableResponseCodes = new Set([
  0x0000, // server error
  0x1000, // unavailable
  0x1001, // overloaded
  0x1002, // is bootstrapping
  0x1003, // truncate error
  0x1100, // write timeout
  0x1200, // read timeout
  0x1300, // read failure
  0x1500, // write failure
  0x1600, // CDC write failure
  0x1700, // CAS write unknown: the LWT may or may not have been applied
]);

/**
 * A connection that failed under a request: the driver reports a socket that closed or errored with a
 * request in flight or queued ("Socket was closed", flagged `isSocketError`) and a connect that timed out
 * as bare DriverErrors. The query may well be fine; the connection is not.
 */
function lostConnection(error: errors.DriverError): boolean {
  return (error as { isSocketError?: unknown }).isSocketError === true || error.message === 'Connection timeout';
}

/** True when the error means "the database could not answer now", as opposed to "the query is wrong". */
export function isCassandraUnavailable(error: unknown): boolean {
  if (
    error instanceof errors.NoHostAvailableError ||
    error instanceof errors.OperationTimedOutError ||
    error instanceof errors.BusyConnectionError
  ) {
    return true;
  }
  if (error instanceof errors.ResponseError) return retriableResponseCodes.has(error.code);
  if (error instanceof errors.DriverError) return lostConnection(error);
  return false;
}

/**
 * Wraps a driver error in the project's error type: CASSANDRA_UNAVAILABLE (retriable, 503) when trying
 * again can help, CASSANDRA_QUERY_FAILED (permanent, 500) when it cannot. Never carries bound values.
 */
export function cassandraError(error: unknown, what: string): MsgxcError {
  if (error instanceof MsgxcError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (isCassandraUnavailable(error)) {
    return new MsgxcError('CASSANDRA_UNAVAILABLE', `Cassandra could not ${what}: ${reason}`, {
      retriable: true,
      status: 503,
      cause: error,
    });
  }
  return new MsgxcError('CASSANDRA_QUERY_FAILED', `Cassandra refused to ${what}: ${reason}`, {
    retriable: false,
    status: 500,
    cause: error,
  });
}
