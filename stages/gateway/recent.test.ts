import { describe, expect, it } from 'vitest';
import { WrittenMessages } from './recent.ts';

const addressed = { tid: 't1', addressed: true };
const live = { tid: 't1', addressed: false };

describe('WrittenMessages', () => {
  it('remembers which sockets a message was written to, and how', () => {
    const written = new WrittenMessages();
    const [alice, bob, carol] = [written.allocate(), written.allocate(), written.allocate()];
    written.mark('m1', alice, addressed);
    written.mark('m1', carol, live);
    expect([alice, bob, carol].map((serial) => written.has('m1', serial))).toEqual([true, false, true]);
    expect(written.sent('m1', alice)).toEqual({ tid: 't1', addressed: true });
    expect(written.sent('m1', carol)).toEqual({ tid: 't1', addressed: false });
    expect(written.sent('m1', bob)).toBeUndefined();
    expect(written.has('m2', alice)).toBe(false);
  });

  it('matches a message id by its text, not by which string object carries it', () => {
    const written = new WrittenMessages();
    const serial = written.allocate();
    written.mark(['0b6f', '2c1e'].join('-'), serial, addressed);
    expect(written.has(`0b6f-${'2c1e'}`, serial)).toBe(true);
  });

  it('forgets a freed socket, and a serial handed out again starts with nothing', () => {
    const written = new WrittenMessages();
    const first = written.allocate();
    written.allocate();
    written.mark('m1', first, live);
    written.free(first);
    // Handed out again only once its bits are cleared: after many closed connections, or a sweep.
    expect(written.allocate()).not.toBe(first);
    written.sweep();
    const reused = written.allocate();
    expect(reused).toBe(first);
    expect(written.has('m1', reused)).toBe(false);
    written.mark('m1', reused, addressed);
    expect(written.sent('m1', reused)).toEqual({ tid: 't1', addressed: true });
  });

  it('turns a message written to many sockets into bits, and widens them for sockets that come later', () => {
    const written = new WrittenMessages();
    const first = Array.from({ length: 40 }, () => written.allocate());
    for (const serial of first) written.mark('broadcast', serial, addressed);
    written.mark('send', first[3]!, addressed);
    written.free(first[5]!);
    written.sweep();
    const later = Array.from({ length: 1000 }, () => written.allocate());
    expect(later[0]).toBe(first[5]);
    const last = later.at(-1)!;
    written.mark('broadcast', last, live);
    expect(first.filter((serial) => written.has('broadcast', serial))).toHaveLength(39);
    expect(written.has('broadcast', later[0]!)).toBe(false);
    expect(written.sent('broadcast', last)).toEqual({ tid: 't1', addressed: false });
    expect(written.has('broadcast', later[500]!)).toBe(false);
    expect(later.concat(first).filter((serial) => written.has('send', serial))).toEqual([first[3]]);
  });

  it('clears closed connections’ bits in one pass once enough have gathered', () => {
    const written = new WrittenMessages();
    const serials = Array.from({ length: 1100 }, () => written.allocate());
    for (const serial of serials) written.mark('broadcast', serial, addressed);
    written.mark('send', serials[7]!, live);
    for (const serial of serials.slice(0, 1023)) written.free(serial);
    expect(written.allocate()).toBe(1100);
    written.free(serials[1023]!);
    const reused = Array.from({ length: 1024 }, () => written.allocate());
    expect(reused.toSorted((a, b) => a - b)).toEqual(serials.slice(0, 1024));
    expect(reused.filter((serial) => written.has('broadcast', serial) || written.has('send', serial))).toEqual([]);
    expect(serials.slice(1024).every((serial) => written.has('broadcast', serial))).toBe(true);
  });

  it('forgets the oldest messages past its budget, keeping at least its minimum', () => {
    // A record of few sockets counts as 256 bytes: a budget of 1 KiB holds 4 of them.
    const written = new WrittenMessages({ budgetBytes: 1024, minMessages: 2 });
    const serial = written.allocate();
    for (let n = 0; n < 10; n++) written.mark(`m${n}`, serial, addressed);
    expect(written.size).toBe(4);
    expect([5, 6, 7, 8, 9].map((n) => written.has(`m${n}`, serial))).toEqual([false, true, true, true, true]);

    const floor = new WrittenMessages({ budgetBytes: 1, minMessages: 3 });
    const one = floor.allocate();
    for (let n = 0; n < 10; n++) floor.mark(`m${n}`, one, addressed);
    expect(floor.size).toBe(3);
    expect(floor.has('m9', one) && floor.has('m7', one) && !floor.has('m6', one)).toBe(true);
  });
});
