import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { createValidators, parseDevice, parseWith, uidSchema } from './validators.ts';

// The timestamps below are 2030: the window around now is taken at a fixed now.
const v = createValidators({ messageMaxBytes: 64, clock: () => Date.UTC(2029, 6, 1) });
const tid = '0b6f2a3e-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const p256dh = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
const auth = Buffer.alloc(16, 3).toString('base64url');

function failure(run: () => unknown): { status: number; code: string; issues: { path: unknown[]; message: string }[] } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MsgxcError);
    const failed = error as MsgxcError;
    return {
      status: failed.status,
      code: failed.code,
      issues: (failed.details?.issues ?? []) as { path: unknown[]; message: string }[],
    };
  }
  throw new Error('expected a validation failure');
}

describe('seed bodies', () => {
  it('accepts publish with opts and maps urgency names and timestamps', () => {
    const body = parseWith(v.publish, {
      tid,
      msg: 'hello',
      opts: { urgency: 'high', scheduledAt: '2030-01-01T00:00:00Z', channels: ['ws', 'apns'], icon: '/i.png' },
    });
    expect(body.opts?.urgency).toBe(4);
    expect(body.opts?.scheduledAt).toBe(Date.UTC(2030, 0, 1));
    expect((body.opts as Record<string, unknown>).icon).toBe('/i.png');
  });

  it('keeps at most 8 flat, short adapter keys in opts, as the document says', () => {
    const eight = Object.fromEntries([...Array(8).keys()].map((n) => [`k${n}`, 'x'.repeat(64)]));
    expect(parseWith(v.broadcast, { msg: 'm', opts: eight }).opts).toMatchObject(eight);
    const problems = [
      { ...eight, k8: 1 },
      { nested: { a: 1 } },
      { list: [1] },
      { long: 'x'.repeat(65) },
      { 'bad key': 'x' },
    ];
    for (const opts of problems) {
      expect(failure(() => parseWith(v.broadcast, { msg: 'm', opts })).status, JSON.stringify(opts)).toBe(400);
    }
  });

  it('refuses in a user id exactly the characters the documented pattern excludes', () => {
    const pattern = new RegExp((z.toJSONSchema(uidSchema, { io: 'input' }) as { pattern: string }).pattern, 'u');
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const uid = `a${String.fromCharCode(code)}b`;
      expect(pattern.test(uid), `U+${code.toString(16)}`).toBe(uidSchema.safeParse(uid).success);
    }
  });

  it('calls blank exactly what the documented "not blank" pattern calls blank', () => {
    const msg = (z.toJSONSchema(v.send, { io: 'input' }) as unknown as { properties: { msg: { pattern: string } } })
      .properties.msg;
    const pattern = new RegExp(msg.pattern, 'u');
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const text = ` ${String.fromCharCode(code)} `;
      expect(pattern.test(text), `U+${code.toString(16)}`).toBe(v.send.safeParse({ uid: 'u1', msg: text }).success);
    }
  });

  it('measures a thread name as the client sent it, then trims it', () => {
    expect(v.createThread.safeParse({ name: `${'a'.repeat(200)} ` }).success).toBe(false);
    expect(v.createThread.safeParse({ name: '   ' }).success).toBe(false);
    expect(parseWith(v.createThread, { name: ` ${'a'.repeat(198)} ` }).name).toBe('a'.repeat(198));
  });

  it('reports every wrong field with its path', () => {
    const { status, issues } = failure(() =>
      parseWith(v.publish, { tid: 'nope', msg: '', opts: { urgency: 9, channels: ['pigeon'] }, extra: 1 }),
    );
    expect(status).toBe(400);
    const paths = issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['tid', 'msg', 'opts.urgency', 'opts.channels.0', '']));
  });

  it('answers 413 for a message over the limit, 400 when something else is wrong too', () => {
    expect(failure(() => parseWith(v.send, { uid: 'u1', msg: 'é'.repeat(33) }))).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(parseWith(v.send, { uid: 'u1', msg: 'é'.repeat(32) }).msg).toHaveLength(32);
    expect(failure(() => parseWith(v.send, { uid: '', msg: 'x'.repeat(65) })).status).toBe(400);
  });

  it('checks multicast lists', () => {
    expect(parseWith(v.multicast, { msg: 'x', uids: ['a', 'b'] }).uids).toEqual(['a', 'b']);
    expect(failure(() => parseWith(v.multicast, { msg: 'x', uids: [] })).status).toBe(400);
    expect(failure(() => parseWith(v.multicast, { msg: 'x', uids: ['a', 'a'] })).issues[0]?.message).toBe(
      'must not repeat an entry',
    );
    expect(failure(() => parseWith(v.multicast, { msg: 'x', uids: ['a b'] })).status).toBe(400);
  });

  it('keeps data flat and drops prototype keys', () => {
    expect(parseWith(v.broadcast, { msg: 'x', opts: { data: { a: 1, b: 'c', d: null } } }).opts?.data).toEqual({
      a: 1,
      b: 'c',
      d: null,
    });
    expect(failure(() => parseWith(v.broadcast, { msg: 'x', opts: { data: { a: { b: 1 } } } })).status).toBe(400);
    const polluted = JSON.parse('{"msg":"x","opts":{"data":{"__proto__":{"admin":true},"a":1}}}');
    const data = parseWith(v.broadcast, polluted).opts?.data as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['a']);
    expect(data.admin).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('enlist shapes', () => {
  it('accepts the three device shapes', () => {
    expect(parseDevice(v, { os: 'ios', token: 'ab'.repeat(32) })).toMatchObject({ os: 'ios' });
    expect(parseDevice(v, { os: 'android', token: 'fcm:token-value_1234567' })).toMatchObject({ os: 'android' });
    expect(
      parseDevice(v, { endpoint: 'https://push.example/x', expirationTime: null, keys: { p256dh, auth } }),
    ).toMatchObject({ endpoint: 'https://push.example/x' });
  });

  it('reports the issues of the shape the client meant', () => {
    expect(failure(() => parseDevice(v, { os: 'ios', token: 'xyz' })).issues[0]?.path).toEqual(['token']);
    expect(
      failure(() => parseDevice(v, { endpoint: 'https://push.example/x', keys: { p256dh: auth, auth } })).issues[0]
        ?.path,
    ).toEqual(['keys', 'p256dh']);
    expect(failure(() => parseDevice(v, { os: 'windows', token: 'x' })).issues[0]?.path).toEqual([]);
    for (const body of [null, 1, 'x', [], {}]) expect(failure(() => parseDevice(v, body)).status).toBe(400);
  });
});

describe('threads and preferences', () => {
  it('accepts a full thread and checks experiment weights', () => {
    const thread = parseWith(v.createThread, {
      name: ' News ',
      alias: 'news',
      channelTypes: ['webpush'],
      urgency: 'low',
      openSubscribe: true,
      openPublish: false,
      admins: ['a'],
      publishers: ['p'],
      experiment: {
        id: 'exp1',
        variants: [
          { name: 'control', weight: 50 },
          { name: 'b', weight: 50, msg: 'Hi' },
        ],
      },
    });
    expect(thread).toMatchObject({ name: 'News', urgency: 2 });
    const bad = failure(() =>
      parseWith(v.createThread, { name: 'x', experiment: { id: 'e', variants: [{ name: 'a', weight: 60 }] } }),
    );
    expect(bad.issues[0]).toMatchObject({
      path: ['experiment', 'variants'],
      message: 'variant weights must add up to 100',
    });
    expect(failure(() => parseWith(v.updateThread, {})).issues[0]?.message).toBe('nothing to change');
  });

  it('accepts "~" and channel lists as preferences', () => {
    expect(parseWith(v.preferences, { channels: '~' }).channels).toBe('~');
    expect(parseWith(v.preferences, { channels: [], tid }).channels).toEqual([]);
    expect(failure(() => parseWith(v.preferences, { channels: '*' })).status).toBe(400);
  });
});
