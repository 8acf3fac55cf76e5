/**
 * A small seeded generator of hostile request bodies: random JSON, valid bodies with one or more
 * mutations, and text that is not JSON at all (truncated, binary, deeply nested, huge numbers,
 * prototype keys, lone surrogates). Seeded, so a failure can be replayed from the seed it prints.
 */

export type Random = () => number;

/** mulberry32: tiny, fast, good enough to pick cases. */
export function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, max: number) => Math.floor(random() * max);

const nastyStrings = [
  '',
  ' ',
  'a',
  '~',
  '__proto__',
  'constructor',
  'null',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
  '\u0000',
  '\ud800',
  '\udfff',
  '😀'.repeat(50),
  'é'.repeat(300),
  '<script>alert(1)</script>',
  "'; DROP TABLE threads; --",
  `\${jndi:ldap://x}`,
  '../../etc/passwd',
  'https://127.0.0.1/x',
  'http://169.254.169.254/latest',
  'https://[::ffff:7f00:1]/',
  'https://push.example/abc',
  '6f1c1b8e-8d3f-4a55-9c0e-2f6b1d3e4a5b',
  '00000000-0000-0000-0000-000000000000',
  'ios',
  'android',
  'webpush',
  'high',
  'x'.repeat(5000),
  '2030-01-01T00:00:00Z',
  '9999-99-99T99:99:99Z',
];

const nastyNumbers = [
  0,
  -0,
  1,
  -1,
  4,
  5,
  0.5,
  1e21,
  -1e21,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_VALUE,
  1e-300,
  86400,
  2419201,
];

const interestingKeys = [
  'tid',
  'msg',
  'opts',
  'uid',
  'uids',
  'os',
  'token',
  'endpoint',
  'keys',
  'p256dh',
  'auth',
  'expirationTime',
  'name',
  'alias',
  'channels',
  'channelTypes',
  'urgency',
  'experiment',
  'variants',
  'weight',
  'data',
  'subject',
  'ttl',
  'scheduledAt',
  'expiresAt',
  'collapseKey',
  'admins',
  'publishers',
  'openSubscribe',
  'openPublish',
  '__proto__',
  'constructor',
  'prototype',
  '',
];

export function randomString(random: Random): string {
  if (random() < 0.6) return pick(random, nastyStrings);
  const length = int(random, 40);
  let text = '';
  for (let index = 0; index < length; index++) {
    const roll = random();
    text += String.fromCharCode(
      roll < 0.7 ? 32 + int(random, 95) : roll < 0.9 ? int(random, 0x3000) : int(random, 0xffff),
    );
  }
  return text;
}

export function randomJson(random: Random, depth = 0): unknown {
  const roll = random();
  if (depth > 4 || roll < 0.15) return pick(random, [null, true, false]);
  if (roll < 0.35) return pick(random, nastyNumbers);
  if (roll < 0.6) return randomString(random);
  if (roll < 0.75) return Array.from({ length: int(random, 5) }, () => randomJson(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let index = int(random, 6); index > 0; index--) {
    object[random() < 0.7 ? pick(random, interestingKeys) : randomString(random)] = randomJson(random, depth + 1);
  }
  return object;
}

function mutate(random: Random, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 3) return randomJson(random, 2);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as object) };
  const keys = Object.keys(copy);
  const roll = random();
  if (keys.length > 0 && roll < 0.25) {
    delete (copy as Record<string, unknown>)[pick(random, keys)];
  } else if (keys.length > 0 && roll < 0.7) {
    const key = pick(random, keys);
    (copy as Record<string, unknown>)[key] = mutate(random, (copy as Record<string, unknown>)[key], depth + 1);
  } else if (!Array.isArray(copy)) {
    copy[pick(random, interestingKeys)] = randomJson(random, 2);
  } else {
    copy.push(randomJson(random, 2));
  }
  return copy;
}

/** Text that is not a valid JSON document, or is one that no parser-happy code expects. */
function malformed(random: Random, valid: string): string {
  switch (int(random, 10)) {
    case 0:
      return valid.slice(0, int(random, valid.length));
    case 1:
      return `${valid},`;
    case 2:
      return `\ufeff${valid}`;
    case 3:
      return `${'['.repeat(1000 + int(random, 20000))}${']'.repeat(int(random, 3) === 0 ? 0 : 1000)}`;
    case 4:
      return `{"a":${'{"a":'.repeat(200)}1${'}'.repeat(201)}`;
    case 5:
      return '{"msg":1e999999,"tid":-0.0e-99999}';
    case 6:
      return valid.replace(/"/g, "'");
    case 7:
      return Buffer.from(Array.from({ length: int(random, 200) }, () => int(random, 256))).toString('latin1');
    case 8:
      return valid.replace('{', '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},');
    default:
      return `${valid}${valid}`;
  }
}

export interface FuzzCase {
  body: string;
  contentType: string | null;
}

/** One hostile request for an endpoint whose valid body is `valid`. */
export function fuzzCase(random: Random, valid: unknown): FuzzCase {
  const roll = random();
  const contentType =
    random() < 0.9
      ? 'application/json'
      : pick(random, [
          null,
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=latin1',
          'application/merge-patch+json',
        ]);
  let body: string;
  // A few untouched bodies keep the accepting paths (Cassandra, Kafka) in the mix.
  if (roll < 0.05) body = JSON.stringify(valid);
  else if (roll < 0.3) body = JSON.stringify(randomJson(random));
  else if (roll < 0.8) {
    let mutated = valid;
    for (let count = 1 + int(random, 3); count > 0; count--) mutated = mutate(random, mutated);
    body = JSON.stringify(mutated) ?? 'null';
  } else body = malformed(random, JSON.stringify(valid));
  return { body, contentType };
}
