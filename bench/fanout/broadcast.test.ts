import { describe, expect, it } from 'vitest';
import { benchUser } from '../audience-users.ts';
import { reachedUsers } from './broadcast.ts';

describe('whom a bench broadcast reached', () => {
  it('counts each bench user once, however many deliveries reach them', () => {
    const users = reachedUsers();
    for (const i of [0, 1, 35, 36, 99_999, 1, 0, 99_999]) users.add(benchUser(i, 0).uid);
    expect(users.size).toBe(5);
  });

  it('grows past its first size for a larger audience', () => {
    const users = reachedUsers();
    for (let i = 0; i < 300_000; i += 1_000) users.add(benchUser(i, 0).uid);
    users.add(benchUser(2_000_000, 0).uid);
    expect(users.size).toBe(301);
  });

  it('refuses a uid that is not a bench user, rather than counting it wrong', () => {
    const users = reachedUsers();
    expect(() => users.add('alice')).toThrow('a delivery reached alice, not a bench user');
    expect(() => users.add('bench-00000!')).toThrow('not a bench user');
    expect(() => users.add('bench-00000A')).toThrow('not a bench user');
  });
});
