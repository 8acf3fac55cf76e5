import kafkajs, { type Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  createTopicsIfMissing,
  isTransientMetadataError,
  messageBytes,
  retryTransient,
  splitByBytes,
} from './index.ts';

describe('messageBytes', () => {
  it('counts key, value, header names and values (strings in UTF-8), plus framing', () => {
    const bare = messageBytes({ key: null, value: null });
    expect(messageBytes({ key: 'ab', value: Buffer.alloc(10) })).toBe(bare + 12);
    expect(messageBytes({ key: 'é', value: null })).toBe(bare + 2);
    const withHeaders = messageBytes({ key: null, value: null, headers: { h: 'xyz', list: ['a', Buffer.from('bc')] } });
    expect(withHeaders).toBe(bare + 1 + 8 + 3 + 4 + 8 + 3);
  });
});

describe('splitByBytes', () => {
  const message = (size: number) => ({ key: null, value: Buffer.alloc(size) });

  it('keeps everything in one group when it fits', () => {
    const messages = [message(10), message(10)];
    expect(splitByBytes(messages, 1_000)).toEqual([messages]);
  });

  it('cuts in order so no group exceeds the budget', () => {
    const messages = Array.from({ length: 10 }, () => message(100));
    const one = messageBytes(messages[0]!);
    const groups = splitByBytes(messages, one * 3);
    expect(groups.map((group) => group.length)).toEqual([3, 3, 3, 1]);
    expect(groups.flat()).toEqual(messages);
  });

  it('gives an oversized message a group of its own rather than dropping it', () => {
    const messages = [message(10), message(5_000), message(10)];
    expect(splitByBytes(messages, 1_000).map((group) => group.length)).toEqual([1, 1, 1]);
  });

  it('returns no groups for no messages', () => {
    expect(splitByBytes([], 1_000)).toEqual([]);
  });
});

const {
  KafkaJSAggregateError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSTimeout,
} = kafkajs;

// kafkajs's typings omit what its constructors take; these are the shapes its protocol layer passes.
const protocolError = (type: string, code: number, message: string) =>
  new KafkaJSProtocolError({ type, code, message, retriable: true } as unknown as Error);
const Timeout = KafkaJSTimeout as unknown as new (message: string) => Error;
const unknownTopic = () =>
  protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, 'This server does not host this topic-partition');

describe('isTransientMetadataError', () => {
  it('takes metadata that has not caught up for "not yet": unknown topic, no leader, controller moving', () => {
    expect(isTransientMetadataError(unknownTopic())).toBe(true);
    expect(isTransientMetadataError(protocolError('LEADER_NOT_AVAILABLE', 5, 'no leader'))).toBe(true);
    expect(isTransientMetadataError(protocolError('NOT_CONTROLLER', 41, 'not the controller'))).toBe(true);
    expect(isTransientMetadataError(new Timeout('Timed out while waiting for topic leaders'))).toBe(true);
  });

  it('looks through the wrappers kafkajs puts around the cause', () => {
    const exhausted = new KafkaJSNumberOfRetriesExceeded(unknownTopic(), { retryCount: 5, retryTime: 100 });
    expect(isTransientMetadataError(exhausted)).toBe(true);
    // The message survives where the type was lost.
    expect(isTransientMetadataError(new Error('This server does not host this topic-partition'))).toBe(true);
    const created = new KafkaJSAggregateError('Topic creation errors', [
      protocolError('TOPIC_ALREADY_EXISTS', 36, 'Topic with this name already exists'),
      unknownTopic(),
    ]);
    expect(isTransientMetadataError(created)).toBe(true);
  });

  it('refuses refusals: bad requests, authorisation, a topic that exists, anything unknown', () => {
    expect(isTransientMetadataError(protocolError('INVALID_PARTITIONS', 37, 'Number of partitions is invalid'))).toBe(
      false,
    );
    expect(isTransientMetadataError(protocolError('TOPIC_AUTHORIZATION_FAILED', 29, 'Not authorized'))).toBe(false);
    expect(
      isTransientMetadataError(
        new KafkaJSAggregateError('Topic creation errors', [
          protocolError('TOPIC_ALREADY_EXISTS', 36, 'Topic with this name already exists'),
        ]),
      ),
    ).toBe(false);
    expect(isTransientMetadataError(new KafkaJSNonRetriableError('Invalid topics array'))).toBe(false);
    expect(isTransientMetadataError(new Error('boom'))).toBe(false);
    expect(isTransientMetadataError('UNKNOWN_TOPIC_OR_PARTITION')).toBe(false);
    expect(isTransientMetadataError(undefined)).toBe(false);
  });
});

describe('retryTransient', () => {
  const noSleep = async () => undefined;

  it('tries again while the failure is transient, then returns the answer', async () => {
    let calls = 0;
    const retried: number[] = [];
    const answer = await retryTransient(
      async () => {
        calls++;
        if (calls < 3) throw unknownTopic();
        return 'ready';
      },
      { sleep: noSleep, onRetry: (_error, attempt) => retried.push(attempt) },
    );
    expect(answer).toBe('ready');
    expect(retried).toEqual([1, 2]);
  });

  it('fails at once on anything else, and after the last attempt on a transient failure', async () => {
    let calls = 0;
    const refused = protocolError('INVALID_PARTITIONS', 37, 'Number of partitions is invalid');
    await expect(
      retryTransient(
        async () => {
          calls++;
          throw refused;
        },
        { sleep: noSleep },
      ),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls++;
          throw unknownTopic();
        },
        { sleep: noSleep, attempts: 4 },
      ),
    ).rejects.toThrow(/does not host/);
    expect(calls).toBe(4);
  });
});

describe('createTopicsIfMissing', () => {
  /** An admin whose broker answers "unknown topic" for the first metadata requests after creating it. */
  function settlingAdmin(unknownFor: number) {
    const topics = new Map<string, number>([['old', 1]]);
    const calls = { create: [] as unknown[], metadata: 0 };
    const admin = {
      listTopics: async () => [...topics.keys()],
      createTopics: async (request: {
        waitForLeaders: boolean;
        topics: { topic: string; numPartitions: number }[];
      }) => {
        calls.create.push(request);
        for (const { topic, numPartitions } of request.topics) topics.set(topic, numPartitions);
        return true;
      },
      fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => {
        calls.metadata++;
        if (calls.metadata <= unknownFor) throw unknownTopic();
        return {
          topics: names.map((name) => ({
            name,
            partitions: Array.from({ length: topics.get(name) ?? 0 }, (_, partitionId) => ({ partitionId, leader: 1 })),
          })),
        };
      },
    };
    return { admin: admin as unknown as Admin, calls };
  }

  it('creates only the missing topics and waits out "unknown topic" until every partition has a leader', async () => {
    const { admin, calls } = settlingAdmin(3);
    const created = await createTopicsIfMissing(
      admin,
      [
        { topic: 'old', partitions: 1, retentionMs: 1_000 },
        { topic: 'new', partitions: 3, retentionMs: 2_000 },
      ],
      { sleep: async () => undefined },
    );
    expect(created).toEqual(['new']);
    expect(calls.create).toEqual([
      {
        waitForLeaders: false,
        topics: [{ topic: 'new', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '2000' }] }],
      },
    ]);
    expect(calls.metadata).toBe(4);
  });

  it('creates nothing when every topic exists', async () => {
    const { admin, calls } = settlingAdmin(0);
    expect(await createTopicsIfMissing(admin, [{ topic: 'old', partitions: 1, retentionMs: 1 }])).toEqual([]);
    expect(calls.create).toEqual([]);
  });
});
