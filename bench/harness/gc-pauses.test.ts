import { describe, expect, it } from 'vitest';
import { gcLogOption } from '../../stack/java.ts';
import { describeGcPauses, gcLogOf, pausesIn } from './gc-pauses.ts';

const log = [
  '[1000ms][info][gc] Using G1',
  '[2000ms][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 40M->9M(256M) 23.456ms',
  '[2000ms][info][gc,phases] GC(0)   Pre Evacuate Collection Set: 0.1ms',
  '[3000ms][info][gc] GC(1) Pause Young (Concurrent Start) (G1 Humongous Allocation) 60M->20M(256M) 110ms',
  '[3500ms][info][gc] GC(2) Concurrent Mark Cycle 45.2ms',
  '[4000ms][info][gc,phases] GC(3) Pause Mark Start 0.020ms',
  '[9000ms][info][gc] GC(4) Pause Young (Normal) (G1 Evacuation Pause) 40M->9M(256M) 30.0ms',
].join('\n');

describe('GC pauses', () => {
  it('takes the pauses that ended within the phase, and no concurrent phase or sub-phase', () => {
    expect(pausesIn(log, 1500, 5000)).toEqual([23.456, 110, 0.02]);
    expect(pausesIn(log, 8000, 10_000)).toEqual([30]);
    expect(pausesIn(log, 5000, 8000)).toEqual([]);
  });

  it('finds the log file the stack names on a JVM command line', () => {
    const option = gcLogOption('/tmp/stack/kafka');
    expect(gcLogOf(['java', '-Xms256m', option, 'kafka.Kafka'])).toBe('/tmp/stack/kafka/gc.log');
    expect(gcLogOf(['java', '-Xlog:gc', 'kafka.Kafka'])).toBeUndefined();
    // What the stack passes must be what the parser reads: wall-clock milliseconds at the start of a line.
    expect(option).toContain(':timemillis');
  });

  it('says how much of the phase each server spent paused', () => {
    const text = describeGcPauses(
      [
        { server: 'kafka', pauses: [20, 30, 100] },
        { server: 'cassandra', pauses: [] },
      ],
      10,
    );
    expect(text).toContain('kafka           3 pauses, mean 50.0 ms, longest 100.0 ms, 1.50 % of the time');
    expect(text).toMatch(/cassandra\s+none/);
    expect(describeGcPauses([], 10)).toContain('no server writes a GC log');
  });
});
