import { readFileSync } from 'node:fs';

/**
 * How much of the time some runnable task waited for a CPU, from Linux's pressure stall information
 * (`/proc/pressure/cpu` for the machine, `cpu.pressure` in a cgroup v2 directory for a container).
 *
 * The bulk lane's pacer reads it as a second sign of contention beside its own requests' latency. A search
 * page can come back in its usual time while the machine is saturated by what the broadcast set off
 * downstream (the broker, the delivery stages, the gateway): every urgent hop then waits for a CPU, and only
 * the scheduler sees it. On the 2-core reference machine "some" pressure sat at 15–20 % with the system
 * idle and at 40–80 % while a 1M-user broadcast drained (100 ms samples, 2026-12-01).
 */
export interface CpuPressure {
  /**
   * The share (0–1) of wall time with at least one task waiting for a CPU, since the previous reading; a
   * reading sooner than `minIntervalMs` after it gives the previous share again (too short to say anything).
   */
  read(): number;
}

export interface CpuPressureOptions {
  path?: string;
  minIntervalMs?: number;
  clock?: () => number;
  readText?: (path: string) => string;
}

const someTotal = /^some .*\btotal=(\d+)/m;

/** null where the kernel gives no pressure information (not Linux, older than 4.20, or PSI turned off). */
export function createCpuPressure(options: CpuPressureOptions = {}): CpuPressure | null {
  const path = options.path ?? '/proc/pressure/cpu';
  const minIntervalMs = options.minIntervalMs ?? 50;
  const clock = options.clock ?? (() => performance.now());
  const readText = options.readText ?? ((file: string) => readFileSync(file, 'utf8'));
  const stalledMicros = (): number | null => {
    try {
      const match = someTotal.exec(readText(path));
      return match ? Number(match[1]) : null;
    } catch {
      return null; // no such file: the caller goes without this signal
    }
  };
  let lastTotal = stalledMicros();
  if (lastTotal === null) return null;
  let lastAt = clock();
  let share = 0;
  return {
    read() {
      const now = clock();
      if (now - lastAt < minIntervalMs) return share;
      const total = stalledMicros();
      if (total === null) return share;
      share = Math.min(1, Math.max(0, (total - lastTotal!) / 1000 / (now - lastAt)));
      lastTotal = total;
      lastAt = now;
      return share;
    },
  };
}
