import { describe, expect, it } from 'vitest';
import { MsgxcError, permanent, retriable } from '../errors/index.ts';
import { classifyDecodeError, classifyHandlerError, isClusterUnavailable } from './classify.ts';

describe('classifyHandlerError', () => {
  it("follows MsgxcError's retriable flag and keeps its code", () => {
    expect(classifyHandlerError(permanent('THREAD_UNKNOWN', 'no such thread'))).toEqual({
      code: 'THREAD_UNKNOWN',
      message: 'no such thread',
      retriable: false,
    });
    expect(classifyHandlerError(retriable('CASSANDRA_TIMEOUT', 'timed out'))).toMatchObject({
      code: 'CASSANDRA_TIMEOUT',
      retriable: true,
    });
  });

  it('retries errors msgxc did not raise (network, drivers) rather than dead-lettering them', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyHandlerError(reset)).toEqual({ code: 'ECONNRESET', message: 'socket hang up', retriable: true });
    expect(classifyHandlerError(new TypeError('x is undefined'))).toMatchObject({
      code: 'TYPE_ERROR',
      retriable: true,
    });
    expect(classifyHandlerError('a string')).toMatchObject({ code: 'UNKNOWN', message: 'a string', retriable: true });
  });

  it("lets the stage's classifier decide first, falling back when it has no opinion", () => {
    const policy = {
      classify: (error: unknown) => ((error as Error).message === 'gone' ? ('permanent' as const) : undefined),
    };
    expect(classifyHandlerError(new Error('gone'), policy).retriable).toBe(false);
    expect(classifyHandlerError(new Error('busy'), policy).retriable).toBe(true);
    expect(classifyHandlerError(permanent('X', 'y'), { classify: () => 'retriable' }).retriable).toBe(true);
  });
});

describe('classifyDecodeError', () => {
  it('treats bytes that do not parse as permanent', () => {
    expect(classifyDecodeError(new SyntaxError('Unexpected token'))).toEqual({
      code: 'DECODE_FAILED',
      message: 'Unexpected token',
      retriable: false,
    });
    expect(classifyDecodeError(new RangeError('offset out of range')).retriable).toBe(false);
  });

  it('retries only when the serde says so (e.g. the registry is unreachable)', () => {
    const unreachable = new MsgxcError('REGISTRY_UNAVAILABLE', 'connect ECONNREFUSED', { retriable: true });
    expect(classifyDecodeError(unreachable)).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retriable: true });
    expect(classifyDecodeError(permanent('SCHEMA_UNKNOWN', 'id 99'))).toMatchObject({ retriable: false });
  });
});

describe('isClusterUnavailable', () => {
  it('sees a broker or coordinator that is away through kafkajs wrappers', () => {
    const coordinator = Object.assign(new Error('Failed to find group coordinator'), {
      name: 'KafkaJSGroupCoordinatorNotFound',
    });
    const wrapped = Object.assign(new Error('Failed to find group coordinator', { cause: coordinator }), {
      name: 'KafkaJSNonRetriableError',
    });
    expect(isClusterUnavailable(wrapped)).toBe(true);
    expect(isClusterUnavailable(Object.assign(new Error('loading'), { type: 'COORDINATOR_LOAD_IN_PROGRESS' }))).toBe(
      true,
    );
    expect(isClusterUnavailable(Object.assign(new Error('refused'), { name: 'KafkaJSConnectionError' }))).toBe(true);
  });

  it("sees @platformatic/kafka's network errors, also inside its aggregates", () => {
    const network = Object.assign(new Error('Connection closed'), { code: 'PLT_KFK_NETWORK' });
    expect(isClusterUnavailable(network)).toBe(true);
    const leader = Object.assign(new Error('not the leader'), {
      code: 'PLT_KFK_PROTOCOL',
      apiId: 'NOT_LEADER_OR_FOLLOWER',
    });
    expect(isClusterUnavailable(leader)).toBe(true);
    const moved = Object.assign(new Error('leader moving'), {
      code: 'PLT_KFK_PROTOCOL',
      apiId: 'LEADER_NOT_AVAILABLE',
    });
    const aggregate = Object.assign(new AggregateError([moved], 'Produce failed'), { code: 'PLT_KFK_MULTIPLE' });
    expect(isClusterUnavailable(aggregate)).toBe(true);
    const refused = Object.assign(new Error('denied'), {
      code: 'PLT_KFK_PROTOCOL',
      apiId: 'TOPIC_AUTHORIZATION_FAILED',
    });
    expect(isClusterUnavailable(new AggregateError([refused], 'Produce failed'))).toBe(false);
  });

  it('does not excuse errors that joining again would not cure', () => {
    expect(isClusterUnavailable(Object.assign(new Error('denied'), { type: 'GROUP_AUTHORIZATION_FAILED' }))).toBe(
      false,
    );
    expect(isClusterUnavailable(new TypeError('handler bug'))).toBe(false);
    expect(isClusterUnavailable(undefined)).toBe(false);
  });
});
